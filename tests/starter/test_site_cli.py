"""``edgeward site add`` / ``site show`` as a user runs them, against the real stack."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from schema.settings import Settings
from tests.fixtures.dns import DnsStack
from tests.fixtures.sites import settings_env, website_worker
from tests.site_helpers import customer_domain, new_customer


async def edgeward(settings: Settings, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "edgeward"), *args, env={**os.environ, **settings_env(settings)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    return int(proc.returncode or 0), out.decode()


async def test_site_add_follows_progress_and_show_prints_it(
        temporal_env: WorkflowEnvironment, site_settings: Settings,
        site_sessions: sessionmaker[Session], dns_stack: DnsStack) -> None:
    cust = new_customer(site_sessions, plan="pro")
    domain = customer_domain(dns_stack)
    async with website_worker(temporal_env, site_settings):
        code, out = await edgeward(site_settings, "site", "add", "--customer", cust.email,
                                   "--domain", domain.upper(), "--license", str(cust.license_id),
                                   "--dns", "import", "--partner", str(cust.partner_id))
        assert code == 0, out
        steps = [line.split(None, 1)[1] for line in out.splitlines()[1:] if line.strip()]
        names = [s.split(":")[0] for s in steps]
        order = ["Pending", "Importing DNS", "Configuring edge", "Completed"]
        assert names[-1] == "Completed" and names == sorted(names, key=order.index), out
        assert "ns1.edgeward.net." in steps[-1]
        code, shown = await edgeward(site_settings, "site", "show", domain)
    assert code == 0, shown
    assert "Completed" in shown and "127.0.0.1" in shown and cust.email in shown
    code, out = await edgeward(site_settings, "site", "add", "--customer", cust.email,
                               "--domain", "http://x.test/", "--license", "1", "--dns", "none",
                               "--partner", str(cust.partner_id))
    assert code == 2 and "is a URL" in out
