"""The Edgeward worker: builds every client once, injects them into the activity classes,
and runs the Temporal worker until SIGTERM or SIGINT, then shuts down gracefully (activities
in flight finish or are cancelled, their work is retried elsewhere)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from temporalio.worker import Worker

from activities.db import DbActivities
from schema.db import make_engine, make_session_factory
from schema.settings import Settings, get_settings
from starter.temporal_client import connect

log = logging.getLogger("edgeward.worker")

ACTIVITY_THREADS = 16
GRACEFUL_SHUTDOWN = timedelta(seconds=10)


def build_activities(settings: Settings) -> tuple[list[Any], list[Any]]:
    """Every workflow class and activity callable of Edgeward, with their clients."""
    engine = make_engine(settings.resolved_database_url, pool_pre_ping=True)
    db = DbActivities(make_session_factory(engine))
    workflows: list[Any] = []
    activities: list[Any] = [db.set_website_step]
    dns_workflows, dns_activities = build_dns_activities(settings)
    workflows += dns_workflows
    activities += dns_activities
    license_workflows, license_activities = build_license_activities(make_session_factory(engine))
    workflows += license_workflows
    activities += license_activities
    site_workflows, site_activities = build_website_activities(settings)
    workflows += site_workflows
    activities += site_activities
    return workflows, activities


def build_license_activities(sessions: Any) -> tuple[list[Any], list[Any]]:
    """The license lifecycle: the expiry sweep and the edge re-apply after plan changes."""
    from activities.licensing import LicenseActivities
    from workflows.edge_reapply import EdgeReapplyWorkflow
    from workflows.license_expiry import LicenseExpiryWorkflow

    lic = LicenseActivities(sessions)
    return ([LicenseExpiryWorkflow, EdgeReapplyWorkflow],
            [lic.sweep_page, lic.edge_batch, lic.edge_fingerprint])


async def ensure_schedules(client: Any, settings: Settings) -> None:
    """Create or update the daily license expiry schedule; a failure is logged, not fatal."""
    from starter.expiry_schedule import ensure_expiry_schedule

    try:
        result = await ensure_expiry_schedule(client, settings)
        log.info("license expiry schedule %s: %s", result.schedule_id, result.change)
    except Exception:
        log.exception("could not create or update the license expiry schedule")


def build_dns_activities(settings: Settings) -> tuple[list[Any], list[Any]]:
    """Hosted DNS (PowerDNS API), the DNS import and the delegation check, and their workflows.

    Locally the parent zone and the old host are the stand-in PowerDNS instances; NS records
    carry no port, so the old host's port comes from the settings.
    """
    import httpx

    from activities.delegation import DelegationActivities
    from activities.dns_import import DnsImportActivities
    from activities.hosted_dns import HostedDnsActivities, PowerDnsClient
    from workflows.delegation_wait import DelegationWaitWorkflow
    from workflows.dns_import import DnsImportWorkflow

    api_url = f"http://127.0.0.1:{settings.hosted_dns_api_port}/api/v1/servers/localhost"
    hosted = HostedDnsActivities(PowerDnsClient(httpx.Client(), api_url, settings.pdns_api_key),
                                 settings.nameservers, settings.edge_addresses)
    parent = ("127.0.0.1", settings.parent_dns_port)
    reader = DnsImportActivities(parent, settings.oldhost_dns_port)
    delegation = DelegationActivities(parent, settings.nameservers)
    return ([DnsImportWorkflow, DelegationWaitWorkflow],
            [hosted.import_zone, hosted.delete_zone, reader.read_zone, delegation.check])


def dns_check_servers(settings: Settings) -> list[tuple[str, int]]:
    servers = settings.acme_dns_check_servers or [f"127.0.0.1:{settings.hosted_dns_port}"]
    return [(host, int(port)) for host, _, port in (s.rpartition(":") for s in servers)]


def build_website_activities(settings: Settings, sessions: Any = None,
                             resources: list[Any] | None = None) -> tuple[list[Any], list[Any]]:
    """Add Website: the certificate store, the ACME CA, the Caddy edges, and their workflows.
    ``sessions``: a session factory to share (default: a new engine on the settings' database);
    ``resources``: gets the HTTP clients made here, for a caller that closes them."""
    from pathlib import Path

    import httpx

    from activities.acme import AcmeActivities
    from activities.acme_account import AcmeAccount
    from activities.acme_dns import ChallengeDns
    from activities.db import CertificateStore, WebsiteDbActivities
    from activities.edge import EdgeActivities, EdgeNode
    from activities.hosted_dns import PowerDnsClient
    from schema.secrets import SecretBox
    from workflows.add_website import AddWebsiteWorkflow
    from workflows.issue_certificate import IssueCertificateWorkflow
    from workflows.renew_certificate import RenewCertificateWorkflow

    box = SecretBox(settings.secret_key, settings.secret_key_id)
    if sessions is None:
        sessions = make_session_factory(make_engine(settings.resolved_database_url,
                                                    pool_pre_ping=True))
    store = CertificateStore(sessions, box)
    db = WebsiteDbActivities(sessions, store)
    nodes = [EdgeNode(f"edge-{n}", f"http://127.0.0.1:{admin}", https)
             for n, (admin, https) in enumerate(
                 zip(settings.edge_admin_ports, settings.edge_https_ports, strict=True), start=1)]
    edge_http, dns_http = httpx.AsyncClient(), httpx.Client()
    if resources is not None:
        resources += [edge_http, dns_http]
    edge = EdgeActivities(edge_http, nodes, store, settings.origin_port)
    api_url = f"http://127.0.0.1:{settings.hosted_dns_api_port}/api/v1/servers/localhost"
    dns = ChallengeDns(PowerDnsClient(dns_http, api_url, settings.pdns_api_key),
                       settings.validation_zone, dns_check_servers(settings))
    acme = AcmeActivities(settings.acme_directory_url, settings.resolved_acme_ca_bundle or True,
                          settings.acme_root_url,
                          AcmeAccount(Path(settings.run_dir) / "acme", settings.acme_directory_url, box),
                          dns, box, settings.acme_email)
    return ([AddWebsiteWorkflow, IssueCertificateWorkflow, RenewCertificateWorkflow],
            [db.get_website, db.record_origin, db.store_certificate,
             edge.list_edges, edge.apply_sites, edge.remove_site, edge.install_certificate,
             edge.verify_certificate,
             acme.new_order, acme.publish_challenges, acme.wait_challenges_published,
             acme.answer_challenges, acme.wait_order_ready, acme.finalize,
             acme.withdraw_challenges])


async def run(settings: Settings) -> None:
    client = await connect(settings)
    workflows, activities = build_activities(settings)
    await ensure_schedules(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(ACTIVITY_THREADS) as executor:
        worker = Worker(client, task_queue=settings.temporal_task_queue, workflows=workflows,
                        activities=activities, activity_executor=executor,
                        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN)
        async with worker:
            log.info("worker polling %s on %s", settings.temporal_task_queue,
                     settings.temporal_address)
            await stop.wait()
            log.info("shutting down")
    log.info("worker stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run(get_settings()))
    # Leave without interpreter finalization: the Temporal client's Rust threads can abort it
    # (temporalio/sdk-python issue 300) and turn a clean shutdown into exit status 134.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
