"""`edgeward dns ...` as a user runs it: a subprocess against real Temporal and PowerDNS."""

from __future__ import annotations

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from schema.settings import get_settings
from starter.stack.demo_zones import demo_zone
from starter.temporal_client import with_codec
from tests.workflows.test_dns_workflows import real_worker

EDGEWARD = str(Path(sys.executable).parent / "edgeward")


async def edgeward(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        EDGEWARD, *args, env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode()


async def test_import_query_flip_and_delegation_from_the_cli(temporal_env, dns_stack,
                                                             task_queue) -> None:
    zone = dns_stack.add_customer(lambda z: demo_zone(z, origin="192.0.2.10"))
    env = {
        "EDGEWARD_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "EDGEWARD_TEMPORAL_TASK_QUEUE": task_queue,
        "EDGEWARD_HOSTED_DNS_PORT": str(dns_stack.hosted.dns_port),
        "EDGEWARD_PARENT_DNS_PORT": str(dns_stack.parent.dns_port),
        "EDGEWARD_PARENT_DNS_API_PORT": str(dns_stack.parent.api_port),
        "EDGEWARD_OLDHOST_DNS_PORT": str(dns_stack.oldhost.dns_port),
        "EDGEWARD_PDNS_API_KEY": dns_stack.parent.api_key,  # `dns flip` writes to the parent
        "EDGEWARD_NAMESERVERS": '["ns1.edgeward.net.", "ns2.edgeward.net."]',
    }
    client = with_codec(temporal_env.client, get_settings())
    with ThreadPoolExecutor(4) as pool:
        async with real_worker(client, task_queue, dns_stack, pool):
            rc, out = await edgeward(env, "dns", "import", zone.upper())
    assert rc == 0, out
    assert f"{zone} imported by AXFR" in out
    assert f"api.{zone}" in out and "198.51.100.11" in out
    assert "origin (the edge's upstream): 192.0.2.10" in out
    assert "ns1.edgeward.net., ns2.edgeward.net." in out and "Cloudflare" in out

    rc, out = await edgeward(env, "dns", "query", f"mail.{zone}", "A")
    assert rc == 0 and "192.0.2.25" in out and "AA" in out  # answered by our hosted DNS

    rc, out = await edgeward(env, "dns", "delegation", zone)
    assert rc == 0 and "is delegated to: ns1.oldhost.test., ns2.oldhost.test." in out
    rc, out = await edgeward(env, "dns", "flip", zone)
    assert rc == 0, out
    rc, out = await edgeward(env, "dns", "delegation", zone)
    assert rc == 0 and "is delegated to our name servers" in out


async def test_cli_import_of_a_bad_domain_says_what_is_wrong(dns_stack) -> None:
    rc, out = await edgeward({}, "dns", "import", "https://shop.test/")
    assert rc == 2 and "not a domain name" in out
