"""Expiry sweep benchmark: the LicenseExpiry workflow against the equivalent set-based SQL.

For each database (PostgreSQL and SQLite) one template database is filled with 1,000,000
licenses of which 100,000 are due with mixed outcomes (bench/expiry_data.py) and copied twice:
on one copy the set-based SQL statements (bench/expiry_sql.py) run in one transaction, on the
other the real sweep runs: the LicenseExpiry workflow on a real Temporal dev server (from the
venv) with the real LicenseActivities, its EdgeReapply children included (a no-op
``edge.apply_sites`` stands in for Caddy). Both copies must end in the same state (compared by
counts); the script prints each side's wall time and rows per second and their ratio, for the
sweep's pages (its database work: what the SQL does) and for the whole workflow including the
edge re-applies it waits for. Target: the sweep within 3x of the set-based SQL.

What profiling found (``--profile``) and what was changed, in order: 220,000 single-row UPDATEs
pipelined by psycopg and row-at-a-time INSERT ... RETURNING on SQLite (now one bulk statement per
kind of write and chunk, ``schema.bulk``); text-format array parameters escaped by regex (now
binary); a merge join over the whole licenses index for the edge reads (now a correlated
subquery); the workflow decoding every site between two activities (now a raw payload); edge
re-applies running alongside the pages and slowing them threefold (now after each run's pages);
a WAL checkpoint per SQLite commit (now 20,000 licenses per SQLite transaction).

    .venv/bin/python bench/expiry_sweep.py [--licenses 1000000] [--due 100000]
        [--db postgresql,sqlite] [--page-size N] [--chunk-size N] [--profile]

``--profile`` runs the sweep's chunks directly (no Temporal) under cProfile on a third copy and
prints where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio import activity  # noqa: E402

from activities.edge import ApplySitesInput, ApplySitesOutput  # noqa: E402
from bench import expiry_data as data  # noqa: E402
from bench import expiry_sql  # noqa: E402
from schema import migrate  # noqa: E402
from workflows.license_expiry import LicenseExpiryInput  # noqa: E402

PG_ADMIN = os.environ.get("EDGEWARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ACTOR = "workflow:bench-set-based-sql"


@activity.defn(name="edge.apply_sites")
async def apply_sites(inp: ApplySitesInput) -> ApplySitesOutput:
    """Caddy's stand-in: the edges are not what this benchmark measures."""
    return ApplySitesOutput(["bench-edge"], 0, len(inp.sites))


class Database:
    """One engine's template and copies."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind, self.workdir = kind, workdir
        self.created: list[str] = []

    def url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.workdir / name}.db"
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"

    def create(self, name: str, template: str | None = None) -> str:
        if self.kind == "sqlite":
            if template:
                shutil.copy(self.workdir / f"{template}.db", self.workdir / f"{name}.db")
            return self.url(name)
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self.created.append(name)
        return self.url(name)

    def drop_all(self) -> None:
        if self.kind == "postgresql":
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                for name in reversed(self.created):
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load(db: Database, url: str, d: data.Data) -> None:
    customers = [(c, (c % data.PARTNERS) + 1, f"Customer {c}", f"c{c}@bench.test")
                 for c in range(1, data.CUSTOMERS + 1)]
    partners = [(p, f"Partner {p}") for p in range(1, data.PARTNERS + 1)]
    lic_cols, site_cols = ", ".join(data.LICENSE_COLUMNS), ", ".join(data.WEBSITE_COLUMNS)
    if db.kind == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute("PRAGMA foreign_keys=OFF")
        with conn:
            conn.executemany("INSERT INTO partners (id, name, created_at) VALUES (?, ?, "
                             "'2026-01-01 00:00:00.000000')", partners)
            conn.executemany("INSERT INTO customers (id, partner_id, name, email, company, phone, "
                             "address, created_at) VALUES (?, ?, ?, ?, '', '', '', "
                             "'2026-01-01 00:00:00.000000')", customers)
            conn.executemany(f"INSERT INTO licenses ({lic_cols}) VALUES ({', '.join('?' * 11)})",
                             data.rows_for_sqlite(d.licenses))
            conn.executemany(f"INSERT INTO websites ({site_cols}) VALUES ({', '.join('?' * 16)})",
                             data.rows_for_sqlite(d.websites))
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        return
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # no FK triggers while loading
        with cur.copy("COPY partners (id, name, created_at) FROM STDIN") as cp:
            for row in partners:
                cp.write_row((*row, "2026-01-01"))
        with cur.copy("COPY customers (id, partner_id, name, email, company, phone, address, "
                      "created_at) FROM STDIN") as cp:
            for row in customers:
                cp.write_row((*row, "", "", "", "2026-01-01"))
        with cur.copy(f"COPY licenses ({lic_cols}) FROM STDIN") as cp:
            for row in d.licenses:
                cp.write_row(row)
        with cur.copy(f"COPY websites ({site_cols}) FROM STDIN") as cp:
            for row in d.websites:
                cp.write_row(row)
        for table in ("partners", "customers", "licenses", "websites", "license_events"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def run_sql(db: Database, url: str) -> float:
    started = time.perf_counter()
    expiry_sql.run(url, db.kind, data.AS_OF, ACTOR)
    return time.perf_counter() - started


async def run_sweep(url: str, page_size: int, chunk_size: int) -> tuple[float, Any, float]:
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from activities.licensing import LicenseActivities
    from schema.db import make_engine, make_session_factory
    from schema.settings import get_settings
    from starter.stack.temporal import venv_binary
    from starter.temporal_client import with_codec
    from workflows.edge_reapply import EdgeReapplyWorkflow
    from workflows.license_expiry import LicenseExpiryResult, LicenseExpiryWorkflow

    engine = make_engine(url)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(venv_binary("temporal")),
        dev_server_extra_args=["--ui-disable-news-fetch", "--log-level", "error"])
    try:
        client = with_codec(env.client, get_settings())
        acts = LicenseActivities(make_session_factory(engine))
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        with ThreadPoolExecutor(8) as pool:
            async with Worker(client, task_queue=queue,
                              workflows=[LicenseExpiryWorkflow, EdgeReapplyWorkflow],
                              activities=[acts.sweep_page, acts.edge_batch, acts.edge_fingerprint,
                                          apply_sites],
                              activity_executor=pool):
                started = time.perf_counter()
                handle = await client.start_workflow(
                    LicenseExpiryWorkflow.run,
                    LicenseExpiryInput(as_of=data.AS_OF, page_size=page_size, chunk_size=chunk_size),
                    id=f"license-expiry-bench-{queue}", task_queue=queue,
                    result_type=LicenseExpiryResult)
                result = await handle.result()
                wall = time.perf_counter() - started
                return wall, result, await pages_done_after(handle)
    finally:
        await env.shutdown()
        engine.dispose()


async def pages_done_after(handle: Any) -> float:
    """Seconds from the sweep's start to its last page's completion (its database work; the
    rest of its wall time is waiting for the edge re-applies), from its history."""
    from temporalio.api.enums.v1 import EventType

    events = (await handle.fetch_history()).events
    start = events[0].event_time.ToDatetime()
    last = max(e.event_time.ToDatetime() for e in events
               if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    return (last - start).total_seconds()


def profile_chunks(url: str, chunk_size: int) -> None:
    from schema import expiry
    from schema.db import make_engine, make_session_factory

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    prof = cProfile.Profile()
    after, started = None, time.perf_counter()
    prof.enable()
    while True:
        with sessions.begin() as s:
            chunk = expiry.sweep_chunk(s, data.AS_OF, after, chunk_size, "workflow:bench-profile")
        if chunk.last is None:
            break
        after = chunk.last
    prof.disable()
    print(f"    chunks alone (no Temporal): {time.perf_counter() - started:.2f} s")
    pstats.Stats(prof).sort_stats("tottime").print_stats(18)
    engine.dispose()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--licenses", type=int, default=1_000_000)
    p.add_argument("--due", type=int, default=100_000)
    p.add_argument("--db", default="postgresql,sqlite")
    p.add_argument("--page-size", type=int, default=LicenseExpiryInput.page_size)
    p.add_argument("--chunk-size", type=int, default=LicenseExpiryInput.chunk_size)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args()
    started = time.perf_counter()
    d = data.generate(args.licenses, args.due, websites=max(args.due * 3, 1000))
    print(f"generated {len(d.licenses):,} licenses ({args.due:,} due), {len(d.websites):,} websites "
          f"in {time.perf_counter() - started:.1f} s")
    lines = []
    for kind in args.db.split(","):
        with tempfile.TemporaryDirectory(prefix="expiry-bench-") as tmp:
            db = Database(kind, Path(tmp))
            tag = uuid.uuid4().hex[:8]
            try:
                t0 = time.perf_counter()
                template = f"expiry_bench_{tag}"
                url = db.create(template)
                migrate.upgrade(url)
                load(db, url, d)
                print(f"[{kind}] loaded in {time.perf_counter() - t0:.1f} s")
                sql_url = db.create(f"{template}_sql", template)
                sweep_url = db.create(f"{template}_sweep", template)
                sql_s = run_sql(db, sql_url)
                print(f"[{kind}] set-based SQL: {sql_s:.2f} s")
                sweep_s, result, pages_s = asyncio.run(run_sweep(sweep_url, args.page_size,
                                                                 args.chunk_size))
                print(f"[{kind}] sweep: {sweep_s:.2f} s (its pages done after {pages_s:.2f} s), "
                      f"{result.pages} pages, {result.runs} runs, "
                      f"{result.sites_reapplied:,} sites re-applied by {result.reapply_workflows} "
                      f"EdgeReapply workflows; {result.counts}")
                same = expiry_sql.outcome(sql_url) == expiry_sql.outcome(sweep_url)
                if args.profile:
                    profile_chunks(db.create(f"{template}_prof", template), args.chunk_size)
                n = result.handled
                lines.append(
                    f"{kind:<10} {n:>8,} due | set-based SQL {sql_s:6.2f} s {n / sql_s:>7,.0f} rows/s "
                    f"| sweep (its pages) {pages_s:6.2f} s {n / pages_s:>7,.0f} rows/s, "
                    f"ratio {pages_s / sql_s:4.2f}x | with the edge re-applies {sweep_s:6.2f} s, "
                    f"ratio {sweep_s / sql_s:4.2f}x | same outcome: {'yes' if same else 'NO'}")
            finally:
                db.drop_all()
    print("\n" + "\n".join(lines))
    print("(the sweep's pages are its database work, what the SQL does; the edge re-applies that"
          " follow read and send each changed site to a no-op edge.apply_sites stand-in)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
