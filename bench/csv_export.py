"""CSV export benchmark: 100,000 licenses exported through the API vs PostgreSQL COPY.

Side by side in one run, on one fresh PostgreSQL database: the partner's CSV report streamed by
the real app (``python -m starter.serve`` under uvicorn, fetched over HTTP) against
``COPY (<the same rows>) TO STDOUT WITH CSV`` read by psycopg. Prints each one's rows per
second, their ratio (target: the API at least half of COPY's throughput) and the growth of the
app process's resident memory while it streams (target: under 50 MB).

    .venv/bin/python bench/csv_export.py [--licenses 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schema import migrate  # noqa: E402
from schema.secrets import new_api_key  # noqa: E402
from starter.stack.process import ManagedProcess, free_port, port_open, wait_until  # noqa: E402
from starter.stack.temporal import TemporalDevServer  # noqa: E402

PG_ADMIN = os.environ.get("EDGEWARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PLANS = ("basic", "starter", "pro", "premium", "backup_small", "pro_trial_30")
SAME_ROWS_SQL = """
SELECT c.email, l.plan_code, w.domain_unicode, w.domain_ascii, w.step, l.ordered_at, l.expires_at,
       l.auto_renew, l.status
FROM licenses l JOIN customers c ON c.id = l.customer_id
LEFT JOIN websites w ON w.id = l.website_id AND w.partner_id = l.partner_id
WHERE l.partner_id = %s ORDER BY l.customer_id, l.id"""


def fill(url: str, licenses: int) -> tuple[int, str]:
    """One partner, 1,000 customers, ``licenses`` distributed licenses, a website on every tenth."""
    key, prefix, key_hash = new_api_key()
    customers = 1000
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO partners (name, created_at) VALUES ('Bench', now()) RETURNING id")
        row = cur.fetchone()
        assert row is not None
        pid = int(row[0])
        cur.execute("INSERT INTO api_keys (partner_id, name, prefix, key_hash, created_at) "
                    "VALUES (%s, 'bench', %s, %s, now())", (pid, prefix, key_hash))
        with cur.copy("COPY customers (partner_id, name, email, company, phone, address, created_at) "
                      "FROM STDIN") as cp:
            for n in range(customers):
                cp.write_row((pid, f"Customer {n}", f"c{n}@bench.test", "Bench Ltd", "", "", "2026-01-01"))
        cur.execute("SELECT min(id) FROM customers WHERE partner_id = %s", (pid,))
        first = cur.fetchone()
        assert first is not None
        with cur.copy("COPY licenses (partner_id, customer_id, plan_code, slot, status, ordered_at, "
                      "expires_at, auto_renew, created_at) FROM STDIN") as cp:
            for n in range(licenses):
                code = PLANS[n % len(PLANS)]
                slot = "backup" if code.startswith("backup") else "security"
                cp.write_row((pid, first[0] + n % customers, code, slot, "active", "2026-01-01 00:00:00+00",
                              None if code == "basic" else "2027-01-01 00:00:00+00", n % 3 == 0,
                              "2026-01-01"))
        cur.execute("""INSERT INTO websites (partner_id, customer_id, domain_ascii, domain_unicode, dns_mode,
                           step, step_reason, origin_addresses, security_license_id, security_slot,
                           backup_slot, backup_settings, created_at, updated_at)
                       SELECT partner_id, customer_id, 'site' || id || '.xn--caf-dma.test',
                              'site' || id || '.café.test', 'none', 'Completed', '', '[]', id,
                              'security', 'backup', '{}', now(), now()
                       FROM licenses WHERE partner_id = %s AND slot = 'security' AND id %% 10 = 0""",
                    (pid,))
        cur.execute("UPDATE licenses l SET website_id = w.id FROM websites w "
                    "WHERE w.security_license_id = l.id")
        conn.commit()
        cur.execute("ANALYZE")
    return pid, key


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class PeakRss:
    """Samples a process's resident set every 10 ms while in use."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kb(self.pid))


def via_api(base: str, key: str) -> tuple[float, int, int]:
    lines = size = 0
    start = time.perf_counter()
    with httpx.stream("GET", f"{base}/api/v1/report.csv", headers={"Authorization": f"Bearer {key}"},
                      timeout=600) as resp:
        resp.raise_for_status()
        for chunk in resp.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    return time.perf_counter() - start, lines - 1, size


def via_copy(url: str, pid: int) -> tuple[float, int, int]:
    lines = size = 0
    start = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        query = sql.SQL("COPY ({}) TO STDOUT WITH CSV HEADER").format(
            sql.SQL(SAME_ROWS_SQL.replace("%s", "{}")).format(sql.Literal(pid)))
        with cur.copy(query) as cp:
            for data in cp:
                size += len(data)
                lines += bytes(data).count(b"\n")
    return time.perf_counter() - start, lines - 1, size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--licenses", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    name = f"edgeward_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    tmp = Path(tempfile.mkdtemp(prefix="edgeward-bench-"))
    temporal = TemporalDevServer(tmp / "temporal", free_port(), free_port(), free_port(), free_port())
    app = ManagedProcess("portal", tmp / "portal")
    try:
        migrate.upgrade(url)
        t0 = time.perf_counter()
        partner_id, key = fill(url, args.licenses)
        print(f"filled {args.licenses:,} licenses in {time.perf_counter() - t0:.1f} s", flush=True)
        temporal.start()
        port = free_port()
        env = {"EDGEWARD_DATABASE_URL": url, "EDGEWARD_TEMPORAL_ADDRESS": temporal.address,
               "EDGEWARD_PORTAL_PORT": str(port), "EDGEWARD_RUN_DIR": str(tmp)}
        proc = app.spawn([sys.executable, "-m", "starter.serve"], env=env, cwd=ROOT)
        wait_until(lambda: port_open(port), 60, "the app", app.log_file, proc)
        base = f"http://127.0.0.1:{port}"
        via_api(base, key)  # warm-up: imports, connection pool, plan cache
        via_copy(url, partner_id)
        baseline = rss_kb(proc.pid)
        api_times, copy_times, peak = [], [], baseline
        for _ in range(args.rounds):  # interleaved, so both see the same machine load
            with PeakRss(proc.pid) as sampler:
                seconds, api_rows, api_bytes = via_api(base, key)
            api_times.append(seconds)
            peak = max(peak, sampler.peak)
            seconds, copy_rows, copy_bytes = via_copy(url, partner_id)
            copy_times.append(seconds)
        assert api_rows == copy_rows == args.licenses, (api_rows, copy_rows)
        api_s, copy_s = statistics.median(api_times), statistics.median(copy_times)
        print(f"{'':14}{'rows':>10}{'MB':>8}{'median s':>10}{'rows/s':>12}")
        for label, rows, size, secs in (("API (CSV)", api_rows, api_bytes, api_s),
                                        ("PG COPY", copy_rows, copy_bytes, copy_s)):
            print(f"{label:14}{rows:>10,}{size / 1e6:>8.1f}{secs:>10.3f}{rows / secs:>12,.0f}")
        ratio = copy_s / api_s
        growth = (peak - baseline) / 1024
        verdict = "met" if ratio >= 0.5 else "NOT met"
        print(f"throughput ratio API/COPY: {ratio:.2f} (target >= 0.50: {verdict})")
        verdict = "met" if growth < 50 else "NOT met"
        print(f"app RSS: baseline {baseline / 1024:.1f} MB, peak {peak / 1024:.1f} MB, "
              f"growth {growth:.1f} MB (target < 50 MB: {verdict})")
        return 0
    finally:
        app.stop()
        temporal.stop()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
