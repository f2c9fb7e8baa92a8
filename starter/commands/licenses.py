"""``edgeward licenses ...``: the expiry sweep, its schedule, and license changes by hand.

- ``sweep --now``: run the expiry sweep at once, with a progress bar and a summary;
- ``schedule``: create or update the daily schedule (the worker does it at start-up too);
- ``list --customer EMAIL``: a customer's licenses with their status and website;
- ``upgrade ID PLAN``, ``renew ID``, ``auto-renew ID on|off``, ``attach-backup SITE ID``;
- ``reapply --website ID``: re-apply websites' edge features (after Temporal was unreachable).

The CLI is an operator's tool: a license or website is acted on for the partner that owns it
unless ``--partner`` is given; the actor on the license events is ``cli:<user name>``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from temporalio.exceptions import WorkflowAlreadyStartedError

from schema import expiry, plans
from schema import licenses as svc
from schema.db import make_engine, make_session_factory
from schema.models import Customer, License, Partner, Website
from schema.settings import get_settings
from starter.cli import UserError
from starter.commands.common import cli_actor, run_with_services
from starter.services import Services

OUTCOME_NAMES = {
    "renew": "renewed (auto-renewal)",
    "expire_drop_to_basic": "expired, website dropped to Basic",
    "end_trial": "trial ended, website dropped to Basic",
    "convert": "converted to its paid plan",
    "expire_backup": "backup expired, backups stopped",
}
POLL_SECONDS = 0.5


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("licenses", help="license expiry sweep, schedule and changes")
    ls = p.add_subparsers(dest="licenses_command", required=True, metavar="ACTION")
    sw = ls.add_parser("sweep", help="run the expiry sweep (--now: at once)")
    sw.add_argument("--now", action="store_true", help="run it now instead of at the daily time")
    sw.add_argument("--page-size", type=int, default=2000, help="licenses per activity")
    sw.set_defaults(func=run_sweep)
    ls.add_parser("schedule", help="create or update the daily expiry schedule").set_defaults(
        func=run_schedule)
    li = ls.add_parser("list", help="a customer's licenses")
    li.add_argument("--customer", required=True, metavar="EMAIL")
    li.add_argument("--partner", type=int, help="only this partner's customer")
    li.set_defaults(func=run_list)
    up = ls.add_parser("upgrade", help="upgrade a license to an eligible plan")
    up.add_argument("license_id", type=int)
    up.add_argument("plan", help="plan code, e.g. pro (see `edgeward plans`)")
    rn = ls.add_parser("renew", help="renew a paid or backup license by one term")
    rn.add_argument("license_id", type=int)
    ar = ls.add_parser("auto-renew", help="switch auto-renewal on or off")
    ar.add_argument("license_id", type=int)
    ar.add_argument("state", choices=["on", "off"])
    ab = ls.add_parser("attach-backup", help="put an unused backup license on a website")
    ab.add_argument("website_id", type=int)
    ab.add_argument("license_id", type=int)
    for cmd, handler in ((up, run_upgrade), (rn, run_renew), (ar, run_auto_renew), (ab, run_attach)):
        cmd.add_argument("--partner", type=int, help="act as this partner (default: the owner)")
        cmd.set_defaults(func=handler)
    re = ls.add_parser("reapply", help="re-apply websites' edge features")
    re.add_argument("--website", type=int, action="append", required=True, metavar="ID")
    re.set_defaults(func=run_reapply)


def _owner(services: Services, model: Any, row_id: int, given: int | None) -> int:
    if given is not None:
        return given
    with services.sessions() as session:
        partner_id = session.scalar(select(model.partner_id).where(model.id == row_id))
    if partner_id is None:
        raise UserError(f"{model.__tablename__[:-1]} {row_id} not found")
    return int(partner_id)


def _license_action(args: argparse.Namespace, model: Any, row_id: int,
                    act: Callable[[Services, int], Awaitable[int]], done: str) -> int:
    async def body(services: Services) -> int:
        partner_id = _owner(services, model, row_id, args.partner)
        try:
            license_id = await act(services, partner_id)
        except (svc.LicenseError, plans.UnknownPlan) as exc:
            raise UserError(str(exc)) from None
        with services.sessions() as session:
            lic = svc.get_license(session, partner_id, license_id)
            print(done.format(id=license_id, plan=plans.plan(lic.plan_code).name,
                              expires=f"{lic.expires_at:%Y-%m-%d}" if lic.expires_at else "never",
                              auto="on" if lic.auto_renew else "off"))
        return 0
    return run_with_services(body)


def run_upgrade(args: argparse.Namespace) -> int:
    from starter import license_actions as la

    return _license_action(args, License, args.license_id, lambda s, p: la.upgrade_license(
        s, p, cli_actor(), args.license_id, args.plan),
        f"license {args.license_id} upgraded: now license {{id}} ({{plan}}, expires {{expires}})")


def run_renew(args: argparse.Namespace) -> int:
    from starter import license_actions as la

    return _license_action(args, License, args.license_id, lambda s, p: la.renew_license(
        s, p, cli_actor(), args.license_id), "license {id} ({plan}) renewed: expires {expires}")


def run_auto_renew(args: argparse.Namespace) -> int:
    from starter import license_actions as la

    return _license_action(args, License, args.license_id, lambda s, p: la.set_auto_renew(
        s, p, cli_actor(), args.license_id, args.state == "on"), "license {id} ({plan}): auto-renewal {auto}")


def run_attach(args: argparse.Namespace) -> int:
    from starter import license_actions as la

    return _license_action(args, Website, args.website_id, lambda s, p: la.attach_backup_license(
        s, p, cli_actor(), args.website_id, args.license_id),
        f"license {{id}} ({{plan}}) attached to website {args.website_id}")


def run_reapply(args: argparse.Namespace) -> int:
    from starter.license_actions import reapply_edges

    async def body(services: Services) -> int:
        wid = await reapply_edges(services, list(args.website), "re-applied by hand")
        print(f"edge re-apply started: workflow {wid}")
        return 0
    return run_with_services(body)


def run_schedule(args: argparse.Namespace) -> int:
    from starter.expiry_schedule import ensure_expiry_schedule

    async def body(services: Services) -> int:
        result = await ensure_expiry_schedule(services.temporal, services.settings)
        desc = await services.temporal.get_schedule_handle(result.schedule_id).describe()
        nxt = ", ".join(f"{t:%Y-%m-%d %H:%M} UTC" for t in desc.info.next_action_times[:2])
        print(f"schedule {result.schedule_id} {result.change}; next runs: {nxt}")
        return 0
    return run_with_services(body)


def run_list(args: argparse.Namespace) -> int:
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    now = datetime.now(UTC)
    try:
        with make_session_factory(engine)() as session:
            stmt = (select(License, Website.domain_unicode, Customer.email, Partner.name)
                    .join(Customer, Customer.id == License.customer_id)
                    .join(Partner, Partner.id == License.partner_id)
                    .outerjoin(Website, or_(Website.security_license_id == License.id,
                                            Website.backup_license_id == License.id))
                    .where(func.lower(Customer.email) == args.customer.strip().lower()))
            if args.partner is not None:
                stmt = stmt.where(License.partner_id == args.partner)
            rows = session.execute(stmt.order_by(License.partner_id, License.id)).all()
    finally:
        engine.dispose()
    if not rows:
        raise UserError(f"no licenses for a customer with e-mail {args.customer}")
    table = [("ID", "Plan", "Status", "Ordered", "Expires", "Auto-renew", "Website", "Partner")]
    for lic, domain, _email, partner in rows:
        table.append((str(lic.id), plans.plan(lic.plan_code).name,
                      plans.status_shown(lic.status, lic.expires_at, now),
                      f"{lic.ordered_at:%Y-%m-%d}" if lic.ordered_at else "-",
                      f"{lic.expires_at:%Y-%m-%d}" if lic.expires_at else "never",
                      "on" if lic.auto_renew else "off", domain or "-", partner))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for n, row in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    return 0


def _bar(done: int, total: int, width: int = 30) -> str:
    total = max(total, done)  # licenses may lapse between the count and the sweep
    filled = width if total == 0 else int(width * done / total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} licenses"


def run_sweep(args: argparse.Namespace) -> int:
    from starter.expiry_schedule import manual_workflow_id, start_sweep_now
    from workflows.license_expiry import LicenseExpiryInput, LicenseExpiryResult, SweepProgress

    settings = get_settings()
    if not args.now:
        raise UserError(f"the sweep runs daily at {settings.expiry_schedule_hour:02d}:"
                        f"{settings.expiry_schedule_minute:02d} UTC; add --now to run it at once")
    if args.page_size < 1:
        raise UserError("--page-size must be at least 1")

    async def body(services: Services) -> int:
        with services.sessions() as session:
            total = expiry.count_due(session, datetime.now(UTC))
        started = time.monotonic()
        wid = manual_workflow_id()
        try:
            handle = await start_sweep_now(services.temporal, settings,
                                           LicenseExpiryInput(page_size=args.page_size), wid)
        except WorkflowAlreadyStartedError:
            handle = services.temporal.get_workflow_handle(wid, result_type=LicenseExpiryResult)
        print(f"sweep {wid}: {total} licenses due", flush=True)
        task = asyncio.ensure_future(handle.result())
        while not task.done():
            await asyncio.wait({task}, timeout=POLL_SECONDS)
            if not task.done():
                try:
                    p = await handle.query("progress", result_type=SweepProgress)
                    print("\r" + _bar(p.handled, total), end="", file=sys.stderr, flush=True)
                except Exception:  # noqa: BLE001 - the run is between continue-as-new steps
                    pass
        result: LicenseExpiryResult = task.result()
        print("\r" + _bar(result.handled, total), file=sys.stderr, flush=True)
        print(f"done in {time.monotonic() - started:.1f} s: {result.handled} licenses handled "
              f"at {result.as_of:%Y-%m-%d %H:%M:%S} UTC")
        for outcome, name in OUTCOME_NAMES.items():
            print(f"  {name:<40} {result.counts.get(outcome, 0)}")
        print(f"  pages {result.pages}, runs {result.runs}; {result.sites_reapplied} websites "
              f"re-applied on the edges by {result.reapply_workflows} workflows"
              + (f" ({result.reapply_unfinished} still retrying)" if result.reapply_unfinished else ""))
        return 0
    return run_with_services(body)
