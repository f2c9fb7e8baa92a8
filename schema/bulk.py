"""Bulk writes of many rows in one round trip, for the expiry sweep's chunks.

Profiling the sweep (bench/expiry_sweep.py) showed per-row statements dominating: 220,000
single-row UPDATEs pipelined through psycopg and SQLAlchemy's per-row parameter processing on
PostgreSQL, row-at-a-time ``INSERT ... RETURNING`` on SQLite. So on PostgreSQL each write here is
one statement over ``unnest()`` of typed arrays (a handful of parameters whatever the row count);
on SQLite, where a statement is a function call in-process, it is one ``executemany`` of
driver-ready values. Values are given as Python objects (aware datetimes, bools, dicts for JSON)
and converted here exactly as the models' column types would store them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ARRAY, BigInteger, String, any_, bindparam, func, select
from sqlalchemy.engine import Connection

# Column -> PostgreSQL array element type, for the columns these helpers write.
PG_TYPES = {"id": "bigint", "license_id": "bigint", "partner_id": "bigint", "customer_id": "bigint",
            "website_id": "bigint", "security_license_id": "bigint", "backup_license_id": "bigint",
            "plan_code": "text", "slot": "text", "status": "text", "kind": "text", "actor": "text",
            "ordered_at": "timestamptz", "expires_at": "timestamptz", "created_at": "timestamptz",
            "updated_at": "timestamptz", "at": "timestamptz", "auto_renew": "boolean",
            "details": "json"}


def _sqlite_time(v: datetime | None) -> str | None:
    return None if v is None else v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _json(v: Any) -> str | None:
    return None if v is None else json.dumps(v)


def _same(v: Any) -> Any:
    return v


def _sqlite_converter(column: str) -> Callable[[Any], Any]:
    """How the models store the column on SQLite (UTCDateTime: naive UTC text; JSON: text)."""
    kind = PG_TYPES[column]
    return _sqlite_time if kind == "timestamptz" else _json if kind == "json" else _same


def _sqlite_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    convs = [(i, conv) for i, c in enumerate(columns)
             if (conv := _sqlite_converter(c)) is not _same]
    if not convs:
        return list(rows)
    out: list[Sequence[Any]] = []
    for row in rows:
        values = list(row)
        for i, conv in convs:
            values[i] = conv(values[i])
        out.append(values)
    return out


def _pg(column: str, v: Any) -> Any:
    return _json(v) if PG_TYPES[column] == "json" else v


def _unnest(columns: Sequence[str]) -> str:
    """``unnest(%b::bigint[], %b::text[], ...)``, sent in binary (no text escaping); JSON
    travels as text and is cast per row."""
    return "unnest(" + ", ".join(
        f"%b::{'text' if PG_TYPES[c] == 'json' else PG_TYPES[c]}[]" for c in columns) + ")"


def _pg_value(column: str, alias: str = "v") -> str:
    return f"{alias}.{column}::json" if PG_TYPES[column] == "json" else f"{alias}.{column}"


def _pg_const(column: str) -> str:
    return f"%b::{PG_TYPES[column]}"


def _arrays(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [[_pg(c, r[i]) for r in rows] for i, c in enumerate(columns)]


def update_rows(conn: Connection, table: str, key: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]], consts: dict[str, Any] | None = None) -> None:
    """``UPDATE table SET columns = row[1:], consts WHERE key = row[0]`` for every row."""
    if not rows:
        return
    consts = consts or {}
    if conn.dialect.name == "postgresql":
        names = [key, *columns]
        sets = ", ".join([f"{c} = {_pg_value(c)}" for c in columns]
                         + [f"{c} = {_pg_const(c)}" for c in consts])
        sql = (f"UPDATE {table} SET {sets} FROM {_unnest(names)} AS v({', '.join(names)}) "
               f"WHERE {table}.{key} = v.{key}")
        params = [*[_pg(c, v) for c, v in consts.items()], *_arrays(names, rows)]
        # The SET list's constants come before the FROM list's arrays in the statement.
        conn.exec_driver_sql(sql, tuple(params))
        return
    sets = ", ".join(f"{c} = ?" for c in (*columns, *consts))
    tail = _sqlite_rows(list(consts), [tuple(consts.values())])[0]
    conn.exec_driver_sql(f"UPDATE {table} SET {sets} WHERE {key} = ?",
                         [(*r[1:], *tail, r[0]) for r in _sqlite_rows([key, *columns], rows)])


def insert_rows(conn: Connection, table: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]], consts: dict[str, Any] | None = None) -> None:
    """``INSERT INTO table (columns, consts)`` every row."""
    if not rows:
        return
    consts = consts or {}
    names = [*columns, *consts]
    if conn.dialect.name == "postgresql":
        select_list = ", ".join([_pg_value(c) for c in columns] + [_pg_const(c) for c in consts])
        sql = (f"INSERT INTO {table} ({', '.join(names)}) SELECT {select_list} "
               f"FROM {_unnest(columns)} AS v({', '.join(columns)})")
        conn.exec_driver_sql(sql, tuple([*[_pg(c, v) for c, v in consts.items()],
                                         *_arrays(columns, rows)]))
        return
    tail = _sqlite_rows(list(consts), [tuple(consts.values())])[0]
    marks = ", ".join("?" * len(names))
    conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})",
                         [(*r, *tail) for r in _sqlite_rows(columns, rows)])


def new_ids(conn: Connection, table: str, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table``: from its sequence on PostgreSQL; on SQLite
    after the largest id ever used, which is safe because the caller holds the write lock
    (``expiry.begin_write``); inserting them moves ``sqlite_sequence`` on."""
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)",
            (count,)).all()
        return [int(r[0]) for r in rows]
    # AUTOINCREMENT tables never reuse an id: start after the larger of the highest id ever
    # handed out (sqlite_sequence) and the highest id there now.
    top = int(conn.exec_driver_sql(
        f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), "
        f"coalesce((SELECT max(id) FROM {table}), 0))").scalar_one())
    return list(range(top + 1, top + 1 + count))


def id_in(conn: Connection, column: Any, ids: Sequence[int]) -> Any:
    """``column IN ids`` with one parameter whatever the count: an array on PostgreSQL
    (``= ANY``), a JSON array read by ``json_each`` on SQLite (thousands of bound names cost
    more to render than the query takes)."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))
    each = func.json_each(bindparam(None, json.dumps(list(ids)), type_=String)).table_valued("value")
    return column.in_(select(each.c.value))
