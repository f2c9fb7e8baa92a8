"""The CSV report of licenses and websites: one customer's, or all of a partner's customers'.

Columns: the licenses table's (less Actions) plus the customer's e-mail and the domain's ASCII
form beside the Unicode site name. It is streamed in constant memory: the rows come from a
cursor in batches and leave as ~256 KB chunks (on PostgreSQL the database writes the CSV
through COPY). Dates are ISO 8601 in UTC. A cell that
a spreadsheet would run as a formula (beginning with = + - @ tab or CR) gets a leading apostrophe.
The file is UTF-8 with a byte-order mark, so spreadsheet programs read IDN domains correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, sessionmaker

from schema import plans
from schema.models import Customer, License, Website
from schema.plans import LicenseStatus

HEADER = ("Customer Email", "Type", "Site Name", "Domain (ASCII)", "Site Provisioning",
          "Order Date", "Expiration Date", "Auto Renewal", "Status")
BOM = "\ufeff"
BATCH_ROWS = 5000
CHUNK_BYTES = 256 * 1024
_FORMULA_START = frozenset("=+-@\t\r")
_PLAN_NAMES = {code: p.name for code, p in plans.PLANS.items()}


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text, never evaluates (OWASP 'CSV injection'); the rule
    that :func:`_text_cell` applies in SQL."""
    return "'" + cell if cell and cell[0] in _FORMULA_START else cell


def _text_cell(col: Any) -> Any:
    """SQL for ``neutralise(col)``: the database does it, so rows leave as they come."""
    return case((func.substr(col, 1, 1).in_(sorted(_FORMULA_START)), literal("'") + col), else_=col)


def _iso_cell(col: Any, dialect: str) -> Any:
    """SQL for ``iso(col)``: ISO 8601 in UTC, NULL (an empty cell) for no date."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", col), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    return func.strftime("%Y-%m-%dT%H:%M:%SZ", col)  # SQLite keeps UTC text


def report_query(partner_id: int, customer_id: int | None, now: datetime, dialect: str) -> Select[Any]:
    """The report's rows, every cell already formatted and neutralised by the database.

    Keeping the per-row work in SQL is what lets the export stream at a good fraction of COPY's
    speed: Python only hands the database's tuples to the C csv writer.
    """
    on_site = and_(Website.removed_at.is_(None),
                   or_(Website.security_license_id == License.id, Website.backup_license_id == License.id))
    status = case((License.status == LicenseStatus.UPGRADED, literal("Upgraded")),
                  (or_(License.status == LicenseStatus.EXPIRED,
                       and_(License.expires_at.is_not(None), License.expires_at <= now)), literal("Expired")),
                  else_=literal("Active"))
    stmt = (select(_text_cell(Customer.email),
                   case(_PLAN_NAMES, value=License.plan_code, else_=License.plan_code),
                   _text_cell(Website.domain_unicode), _text_cell(Website.domain_ascii),
                   case((on_site, _text_cell(Website.step)), else_=None),
                   _iso_cell(License.ordered_at, dialect), _iso_cell(License.expires_at, dialect),
                   case((License.auto_renew, literal("On")), else_=literal("Off")), status)
            .select_from(License)
            .join(Customer, Customer.id == License.customer_id)
            .outerjoin(Website, and_(Website.id == License.website_id,
                                     Website.partner_id == License.partner_id))
            .where(License.partner_id == partner_id))
    if customer_id is not None:
        stmt = stmt.where(License.customer_id == customer_id)
    return stmt.order_by(License.customer_id, License.id)


def stream_csv(sessions: sessionmaker[Session], partner_id: int, customer_id: int | None,
               now: datetime) -> Iterator[bytes]:
    """The whole file as byte chunks; the session (and its cursor) lives as long as the stream,
    and at most one chunk or one batch of rows is in memory.

    On PostgreSQL the database writes the CSV itself (``COPY (<report query>) TO STDOUT``: the
    cells are already formatted and neutralised by the query); elsewhere the rows go through
    Python's csv writer in batches from a streaming cursor. Both give the same file.
    """
    head = io.StringIO()
    head.write(BOM)
    csv.writer(head, lineterminator="\n").writerow(HEADER)
    yield head.getvalue().encode("utf-8")
    with sessions() as session:
        dialect = session.get_bind().dialect
        stmt = report_query(partner_id, customer_id, now, dialect.name)
        if dialect.name == "postgresql":
            yield from _copy_chunks(session, stmt)
        else:
            yield from _writer_chunks(session, stmt)


def _copy_chunks(session: Session, stmt: Select[Any]) -> Iterator[bytes]:
    compiled = stmt.compile(dialect=session.get_bind().dialect,
                            compile_kwargs={"render_postcompile": True})
    raw: Any = session.connection().connection.dbapi_connection
    buf = bytearray()
    with raw.cursor() as cur, cur.copy(f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)",
                                       compiled.params) as copy:
        for data in copy:  # one row per message: gather them into chunks
            buf += data
            if len(buf) >= CHUNK_BYTES:
                yield bytes(buf)
                buf.clear()
    if buf:
        yield bytes(buf)


def _writer_chunks(session: Session, stmt: Select[Any]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    result = session.execute(stmt.execution_options(stream_results=True, yield_per=BATCH_ROWS))
    for batch in result.partitions():
        if any(isinstance(cell, str) and "\r" in cell for row in batch for cell in row):
            for row in batch:
                _write_row(writer, buf, row)
        else:
            writer.writerows(batch)
        if buf.tell() >= CHUNK_BYTES:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode("utf-8")


def _write_row(writer: Any, buf: io.StringIO, row: Any) -> None:
    """One row; a cell holding a CR is quoted, as PostgreSQL's COPY does (Python's writer quotes
    only the characters of its line terminator, here LF, so the row goes through a CRLF writer
    and keeps our LF ending)."""
    if not any(isinstance(cell, str) and "\r" in cell for cell in row):
        writer.writerow(row)
        return
    one = io.StringIO()
    csv.writer(one, lineterminator="\r\n").writerow(row)
    buf.write(one.getvalue()[:-2] + "\n")


def filename(customer_id: int | None, now: datetime) -> str:
    stamp = now.astimezone(UTC).strftime("%Y%m%d")
    who = f"customer-{customer_id}" if customer_id is not None else "all-customers"
    return f"licenses-{who}-{stamp}.csv"
