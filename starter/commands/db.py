"""``edgeward db upgrade`` and ``edgeward seed-demo``."""

from __future__ import annotations

import argparse

from schema import migrate
from schema.settings import get_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = dbsub.add_parser("upgrade", help="run the migrations up to the newest revision")
    up.add_argument("--url", help="database URL (default: the configured database)")
    up.set_defaults(func=run_upgrade)
    seed = sub.add_parser("seed-demo", help="create the demo partner, its customers and licenses")
    seed.set_defaults(func=run_seed)


def run_upgrade(args: argparse.Namespace) -> int:
    settings = get_settings()
    url = args.url or settings.resolved_database_url
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(url)
    print("database is at the newest revision")
    return 0


def run_seed(args: argparse.Namespace) -> int:
    from starter.seed import seed_demo

    settings = get_settings()
    result = seed_demo(settings.resolved_database_url)
    print(f"demo partner: {result.partner_name} (id {result.partner_id})")
    print(f"  portal login: {result.login_email}")
    print(f"  password:     {result.password}   (shown once; `edgeward seed-demo` makes a new one)")
    print(f"  API key:      {result.api_key}   (shown once; only its hash is stored)")
    print(f"  customers:    {result.customers}; licenses in the pool: {result.pool_licenses}")
    return 0
