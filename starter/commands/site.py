"""``edgeward site ...``: add a website and follow its provisioning, show it, nudge or cancel it.

- ``site add --customer <email|id> --domain <domain> --license <id> --dns none|import|import-ssl
  [--origin <address>] [--partner <id>] [--no-wait]``: records the website, starts AddWebsite
  and prints each step until the run ends (Ctrl-C stops watching, not the run).
- ``site show <domain>``: the website, its step and reason, origin, license and certificate.
- ``site check-now <domain>`` / ``site cancel <domain>``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus

from schema import licenses
from schema.domains import InvalidDomain, normalize_domain
from schema.models import Certificate, Customer, License, Partner, Website
from starter.cli import UserError
from starter.commands.common import cli_actor, run_with_services
from starter.services import Services

POLL = 0.5  # seconds between progress look-ups
FINAL = ("Completed", "Failed", "Cancelled")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("site", help="add a website and follow its provisioning; show it")
    ss = p.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    add = ss.add_parser("add", help="add a website and show its progress until it ends")
    add.add_argument("--customer", required=True, help="the customer's e-mail (or id)")
    add.add_argument("--domain", required=True)
    add.add_argument("--license", required=True, type=int, help="an unused security license id")
    add.add_argument("--dns", required=True, choices=("none", "import", "import-ssl"))
    add.add_argument("--origin", help="the web server's address (default: from the domain's DNS)")
    add.add_argument("--partner", type=int, help="the partner (default: the only one)")
    add.add_argument("--no-wait", action="store_true", help="start it and return at once")
    add.set_defaults(func=run_add)
    for name, helptext, func in (
            ("show", "a website, its provisioning step and certificate", "run_show"),
            ("check-now", "re-check the name servers at once", "run_check_now"),
            ("cancel", "cancel the provisioning (what it set up is removed)", "run_cancel")):
        c = ss.add_parser(name, help=helptext)
        c.add_argument("domain")
        c.set_defaults(func=globals()[func])


def _partner(services: Services, given: int | None) -> int:
    if given is not None:
        return given
    with services.sessions() as s:
        ids = s.scalars(select(Partner.id).limit(2)).all()
    if len(ids) != 1:
        raise UserError("there are several partners (or none); give --partner <id>")
    return ids[0]


def _site(services: Services, domain: str) -> Website:
    try:
        ascii_domain = normalize_domain(domain).ascii
    except InvalidDomain as exc:
        raise UserError(str(exc)) from None
    with services.sessions() as s:
        site = s.scalars(select(Website).where(Website.domain_ascii == ascii_domain)
                         .order_by(Website.removed_at.is_not(None), Website.id.desc())).first()
    if site is None:
        raise UserError(f"no website {domain}")
    return site


def run_add(args: argparse.Namespace) -> int:
    from starter.websites import WebsiteError, check_origin, submit_website

    try:  # refuse bad input before connecting anywhere
        normalize_domain(args.domain)
        check_origin(args.origin)
    except (InvalidDomain, WebsiteError) as exc:
        raise UserError(str(exc)) from None

    async def body(services: Services) -> int:
        partner = _partner(services, args.partner)
        try:
            sub = await submit_website(services, partner, args.customer, args.domain, args.license,
                                       args.dns, cli_actor(), args.origin)
        except (InvalidDomain, WebsiteError, licenses.LicenseError) as exc:
            raise UserError(str(exc)) from None
        shown = sub.domain_unicode if sub.domain_unicode == sub.domain_ascii else \
            f"{sub.domain_unicode} ({sub.domain_ascii})"
        print(f"website {sub.website_id}: {shown}, workflow {sub.workflow_id}"
              + ("" if sub.started else " (already running or done)"))
        if args.no_wait:
            return 0
        return await _follow(services, sub.workflow_id, sub.domain_ascii)

    return int(run_with_services(body))


async def _follow(services: Services, wf_id: str, domain: str) -> int:
    """Print each step (and its reason) as it changes, until a final step."""
    from workflows.add_website import AddWebsiteWorkflow

    handle = services.temporal.get_workflow_handle_for(AddWebsiteWorkflow.run, wf_id)
    last = None
    started = time.monotonic()
    while True:
        progress = await handle.query(AddWebsiteWorkflow.progress)
        if (progress.step, progress.reason) != last:
            last = (progress.step, progress.reason)
            stamp = f"{time.monotonic() - started:6.1f}s"
            print(f"{stamp}  {progress.step}" + (f": {progress.reason}" if progress.reason else ""),
                  flush=True)
            if progress.step == "Waiting for name servers":
                print(f"{'':8}  then: `edgeward site check-now {domain}` (locally, "
                      f"`edgeward dns flip {domain}` plays the customer)", flush=True)
        if progress.step in FINAL:
            return 0 if progress.step == "Completed" else 1
        status = (await handle.describe()).status
        if status != WorkflowExecutionStatus.RUNNING:  # ended since the query, or stopped by hand
            final = await handle.query(AddWebsiteWorkflow.progress)
            if final.step != progress.step:
                continue  # it reached its last step just now: print it above
            name = status.name.lower() if status else "closed"
            print(f"the provisioning run is {name} at step {progress.step}", flush=True)
            return 1
        await asyncio.sleep(POLL)


def run_show(args: argparse.Namespace) -> int:
    async def body(services: Services) -> int:
        site = _site(services, args.domain)
        with services.sessions() as s:
            lic = s.get(License, site.security_license_id)
            cust = s.get(Customer, site.customer_id)
            cert = s.scalars(select(Certificate).where(Certificate.website_id == site.id)
                             .order_by(Certificate.id.desc())).first()
        rows = [("Website", f"{site.id}"), ("Domain", site.domain_unicode),
                ("ASCII", site.domain_ascii), ("Customer", cust.email if cust else "?"),
                ("DNS service", site.dns_mode),
                ("License", f"{lic.id} ({lic.plan_code})" if lic else "?"),
                ("Provisioning", site.step + (f": {site.step_reason}" if site.step_reason else "")),
                ("Origin", ", ".join(site.origin_addresses) or "-"),
                ("Workflow", site.workflow_id or "-")]
        if cert is not None:
            rows.append(("Certificate", f"{', '.join(cert.names)}; valid until "
                         f"{cert.not_after:%Y-%m-%d %H:%M} UTC; SHA-256 {cert.sha256[:16]}..."))
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"{key.ljust(width)}  {value}")
        return 0

    return int(run_with_services(body))


def run_check_now(args: argparse.Namespace) -> int:
    from starter.websites import check_name_servers_now

    async def body(services: Services) -> int:
        site = _site(services, args.domain)
        await check_name_servers_now(services, site.partner_id, site.id)
        print(f"asked website {site.id} to re-check its name servers now")
        return 0

    return int(run_with_services(body))


def run_cancel(args: argparse.Namespace) -> int:
    from starter.websites import cancel_website

    async def body(services: Services) -> int:
        site = _site(services, args.domain)
        await cancel_website(services, site.partner_id, site.id)
        print(f"asked website {site.id}'s provisioning to stop")
        return 0

    return int(run_with_services(body))
