"""``edgeward dns ...``: import a domain's DNS, look at delegations, and (in development) play
the customer who switches name servers.

- ``dns import <domain>``: runs the DnsImport workflow and prints the imported records and the
  readiness report (needs `make up`: Temporal, the worker and the DNS instances).
- ``dns delegation <domain>``: what the parent zone delegates the domain to.
- ``dns wait <domain>`` / ``dns check-now <domain>``: start the DelegationWait workflow / make it
  re-check at once.
- ``dns flip <domain> [--back]``: development only: the parent delegates the domain to our name
  servers (or back to the old host).
- ``dns query <name> [type] [--server hosted|parent|oldhost]``: ask one of the local servers.
"""

from __future__ import annotations

import argparse
import asyncio

import dns.exception
import dns.message
import dns.query
from temporalio.client import Client

from activities.delegation import DnsUnreachable, ascii_zone, compare, read_referral
from schema.settings import Settings, get_settings
from starter.cli import UserError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dns", help="hosted DNS: import a domain, check or flip its delegation")
    ds = p.add_subparsers(dest="dns_command", required=True, metavar="ACTION")
    imp = ds.add_parser("import", help="import the domain's records into our hosted DNS")
    imp.add_argument("domain")
    imp.set_defaults(func=run_import)
    dl = ds.add_parser("delegation", help="what the parent zone delegates the domain to")
    dl.add_argument("domain")
    dl.set_defaults(func=run_delegation)
    wt = ds.add_parser("wait", help="start waiting (durably) for the delegation to our servers")
    wt.add_argument("domain")
    wt.add_argument("--deadline-days", type=float, default=None)
    wt.set_defaults(func=run_wait)
    cn = ds.add_parser("check-now", help="make a running delegation wait re-check at once")
    cn.add_argument("domain")
    cn.set_defaults(func=run_check_now)
    fl = ds.add_parser("flip", help="development: delegate the domain to our name servers")
    fl.add_argument("domain")
    fl.add_argument("--back", action="store_true", help="delegate it to the old host again")
    fl.set_defaults(func=run_flip)
    q = ds.add_parser("query", help="ask one of the local DNS servers (like dig)")
    q.add_argument("name")
    q.add_argument("type", nargs="?", default="A")
    q.add_argument("--server", choices=("hosted", "parent", "oldhost"), default="hosted")
    q.set_defaults(func=run_query)


def _zone(domain: str) -> str:
    try:
        return ascii_zone(domain)
    except ValueError as exc:
        raise UserError(str(exc)) from exc


def run_import(args: argparse.Namespace) -> int:
    from temporalio.client import WorkflowFailureError

    from workflows.dns_import import DnsImportInput, DnsImportOutput, DnsImportWorkflow

    settings, zone = get_settings(), _zone(args.domain)

    async def go() -> DnsImportOutput:
        client = await _client(settings)
        return await client.execute_workflow(
            DnsImportWorkflow.run, DnsImportInput(zone), id=f"dns-import-{zone}",
            task_queue=settings.temporal_task_queue)

    try:
        out = asyncio.run(go())
    except WorkflowFailureError as exc:
        cause: BaseException | None = exc.cause
        while cause is not None and getattr(cause, "cause", None) is not None:
            cause = cause.cause  # type: ignore[attr-defined]  # down to the activity's own error
        raise UserError(f"import of {zone} failed: {cause}") from exc
    print(f"{out.zone} imported by {out.method.upper()} from {', '.join(out.source_nameservers)}")
    width = max((len(s.name) for s in out.records), default=10)
    for s in out.records:
        for c in s.contents:
            print(f"  {s.name:<{width}}  {s.ttl:>6}  {s.type:<5}  {c}")
    print(f"origin (the edge's upstream): {', '.join(out.origin_addresses) or 'none found'}")
    print(f"the customer sets these name servers: {', '.join(out.nameservers)}")
    r = out.readiness
    sections = (("BLOCKING: DNSSEC at the parent", r.parent_ds), ("BLOCKING: CAA", r.caa_blocks),
                ("records at another proxy/CDN", r.proxy_records),
                ("names that could not be read", r.unreadable), ("notes", r.notes))
    print("readiness: " + ("ready" if not r.blocking() else "NOT ready"))
    for title, lines in sections:
        if lines:
            print(f"  {title}:")
            for line in lines:
                print(f"    - {line}")
    return 0


def run_delegation(args: argparse.Namespace) -> int:
    settings, zone = get_settings(), _zone(args.domain)
    try:
        ref = read_referral(("127.0.0.1", settings.parent_dns_port), zone, with_ds=True)
    except DnsUnreachable as exc:
        raise UserError(f"the parent zone's server did not answer ({exc}); is `make up` running?") \
            from exc
    print(f"{zone} is delegated to: {', '.join(ref.nameservers) or f'nothing ({ref.rcode})'}")
    for ns, addrs in sorted(ref.glue.items()):
        print(f"  glue {ns} {' '.join(addrs)}")
    if ref.ds:
        print(f"  DS at the parent (DNSSEC): {'; '.join(ref.ds)}")
    print(compare(zone, ref, settings.nameservers).detail)
    return 0


def run_wait(args: argparse.Namespace) -> int:
    from workflows.delegation_wait import DelegationWaitInput, DelegationWaitWorkflow

    settings, zone = get_settings(), _zone(args.domain)
    days = args.deadline_days or settings.delegation_deadline_days

    async def go() -> str:
        client = await _client(settings)
        h = await client.start_workflow(DelegationWaitWorkflow.run, DelegationWaitInput(zone, days),
                                        id=f"delegation-wait-{zone}",
                                        task_queue=settings.temporal_task_queue)
        return h.id

    print(f"waiting for the delegation of {zone} (workflow {asyncio.run(go())}, {days:g} days)")
    return 0


def run_check_now(args: argparse.Namespace) -> int:
    from workflows.delegation_wait import DelegationWaitWorkflow

    settings, zone = get_settings(), _zone(args.domain)

    async def go() -> None:
        client = await _client(settings)
        await client.get_workflow_handle(f"delegation-wait-{zone}").signal(
            DelegationWaitWorkflow.check_now)

    asyncio.run(go())
    print(f"asked the delegation wait of {zone} to check now")
    return 0


def run_flip(args: argparse.Namespace) -> int:
    import httpx

    from starter.stack import demo_zones
    from starter.stack.dns_world import ParentDnsComponent, client_for, delegate

    settings, zone = get_settings(), _zone(args.domain)
    if settings.environment == "production":
        raise UserError("`dns flip` changes the local stand-in parent zone; it is for development")
    target = demo_zones.OLDHOST_NAMESERVERS if args.back else tuple(settings.nameservers)
    with httpx.Client() as http:
        parent = client_for(http, ParentDnsComponent(settings).server)
        delegate(parent, settings.parent_zone, zone, target)
    print(f"the parent zone now delegates {zone} to {', '.join(target)}")
    return 0


def run_query(args: argparse.Namespace) -> int:
    settings = get_settings()
    port = {"hosted": settings.hosted_dns_port, "parent": settings.parent_dns_port,
            "oldhost": settings.oldhost_dns_port}[args.server]
    q = dns.message.make_query(_zone(args.name), args.type.upper())
    try:
        resp, _ = dns.query.udp_with_fallback(q, "127.0.0.1", port=port, timeout=3)
    except (dns.exception.Timeout, OSError) as exc:
        raise UserError(f"the {args.server} DNS server at 127.0.0.1:{port} did not answer") from exc
    print(resp.to_text())
    return 0


async def _client(settings: Settings) -> Client:
    from starter.temporal_client import connect

    return await connect(settings)
