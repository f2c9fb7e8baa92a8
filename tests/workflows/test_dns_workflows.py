"""DnsImport and DelegationWait on the real Temporal dev server (real PowerDNS activities) and on
the time-skipping server (a 14-day wait in seconds)."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.delegation import CheckDelegationInput, DelegationStatus
from activities.dns_records import RRset
from schema.settings import get_settings
from starter.stack.demo_zones import demo_zone
from starter.temporal_client import with_codec
from workflows.delegation_wait import (
    DelegationWaitInput,
    DelegationWaitOutput,
    DelegationWaitWorkflow,
)
from workflows.dns_import import DnsImportInput, DnsImportOutput, DnsImportWorkflow

BOUNDED = 100  # polls of at most 0.1 s each


def real_worker(client: Client, task_queue: str, dns_stack, pool: ThreadPoolExecutor) -> Worker:
    hosted, reader, deleg = dns_stack.hosted_activities(), dns_stack.importer(), dns_stack.delegation()
    return Worker(client, task_queue=task_queue,
                  workflows=[DnsImportWorkflow, DelegationWaitWorkflow],
                  activities=[hosted.import_zone, hosted.delete_zone, reader.read_zone, deleg.check],
                  activity_executor=pool)


async def test_dns_import_workflow_serves_the_zone_from_hosted_dns(temporal_env, dns_stack,
                                                                   task_queue) -> None:
    client = with_codec(temporal_env.client, get_settings())
    zone = dns_stack.add_customer(lambda z: demo_zone(z, origin="192.0.2.10", origin6="2001:db8::10"))
    with ThreadPoolExecutor(4) as pool:
        async with real_worker(client, task_queue, dns_stack, pool):
            out: DnsImportOutput = await client.execute_workflow(
                DnsImportWorkflow.run, DnsImportInput(zone.rstrip(".")),
                id=f"dns-import-{zone}{uuid.uuid4().hex[:6]}", task_queue=task_queue)
    assert out.zone == zone and out.method == "axfr"
    assert out.origin_addresses == ("192.0.2.10", "2001:db8::10")
    assert out.nameservers == dns_stack.nameservers
    assert isinstance(out.records[0], RRset)
    records = {(s.name, s.type): s.contents for s in out.records}
    assert records[(zone, "A")] == ("127.0.0.1",)
    assert records[(f"api.{zone}", "A")] == ("198.51.100.10", "198.51.100.11")
    assert out.readiness.proxy_records  # the demo zone's blog CNAME points at Cloudflare
    served = {(s.name, s.type): s.contents for s in dns_stack.client(dns_stack.hosted).get_rrsets(zone)}
    assert served[(f"api.{zone}", "A")] == ("198.51.100.10", "198.51.100.11")


async def test_dns_import_workflow_fails_clearly_when_the_old_host_is_down(
        temporal_env, dns_stack, task_queue) -> None:
    client = with_codec(temporal_env.client, get_settings())
    zone = dns_stack.add_customer(lambda z: [RRset(z, "A", 60, ("192.0.2.1",))])
    dns_stack.client(dns_stack.oldhost).delete_zone(zone)  # the old host no longer serves it
    with ThreadPoolExecutor(4) as pool:
        async with real_worker(client, task_queue, dns_stack, pool):
            with pytest.raises(WorkflowFailureError) as err:
                await client.execute_workflow(
                    DnsImportWorkflow.run, DnsImportInput(zone), id=f"dns-import-{uuid.uuid4()}",
                    task_queue=task_queue)
    cause = err.value.cause.cause
    assert isinstance(cause, ApplicationError) and "does not serve" in cause.message


async def test_delegation_wait_sees_a_real_flip_on_check_now(temporal_env, dns_stack,
                                                             task_queue) -> None:
    client = with_codec(temporal_env.client, get_settings())
    zone = dns_stack.add_customer(lambda z: [RRset(z, "A", 60, ("192.0.2.1",))])
    with ThreadPoolExecutor(4) as pool:
        async with real_worker(client, task_queue, dns_stack, pool):
            handle = await client.start_workflow(
                DelegationWaitWorkflow.run, DelegationWaitInput(zone), id=f"delegation-wait-{zone}"
                f"{uuid.uuid4().hex[:6]}", task_queue=task_queue)
            last = None
            for _ in range(BOUNDED):
                last = await handle.query(DelegationWaitWorkflow.last_result)
                if last is not None:
                    break
                await asyncio.sleep(0.1)
            assert last is not None and not last.delegated
            assert last.found == ("ns1.oldhost.test.", "ns2.oldhost.test.")
            dns_stack.flip(zone)
            await handle.signal(DelegationWaitWorkflow.check_now)
            # the next check is 30 s away: only the signal can end the wait within the timeout
            out: DelegationWaitOutput = await asyncio.wait_for(handle.result(), timeout=20)
    assert out.nameservers == dns_stack.nameservers and out.checks == 2


class FakeParent:
    """``delegation.check`` registered under its real name: delegated from call ``switch_at``."""

    def __init__(self, switch_at: int | None) -> None:
        self.calls, self.switch_at = 0, switch_at

    @activity.defn(name="delegation.check")
    async def check(self, inp: CheckDelegationInput) -> DelegationStatus:
        self.calls += 1
        done = self.switch_at is not None and self.calls >= self.switch_at
        found = ("ns1.edgeward.net.",) if done else ("ns1.oldhost.test.",)
        return DelegationStatus(inp.domain, done, found, ("ns1.edgeward.net.",),
                                detail="shop.test. is delegated to ns1.oldhost.test.")


async def test_fourteen_day_wait_fails_with_a_clear_reason(time_skipping_env, task_queue) -> None:
    fake = FakeParent(switch_at=None)
    async with Worker(time_skipping_env.client, task_queue=task_queue,
                      workflows=[DelegationWaitWorkflow], activities=[fake.check]):
        with pytest.raises(WorkflowFailureError) as err:
            await time_skipping_env.client.execute_workflow(
                DelegationWaitWorkflow.run, DelegationWaitInput("shop.test."),
                id=f"wait-{uuid.uuid4()}", task_queue=task_queue)
    cause = err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "DelegationDeadline"
    assert "14 days" in cause.message and "ns1.oldhost.test." in cause.message
    # 30 s, 1, 2, 4, 8, 16, 32 min, then hourly: about 343 checks in 14 days, not 40,000
    assert 330 <= fake.calls <= 350


async def test_backoff_and_deadline_follow_the_input(time_skipping_env, task_queue) -> None:
    fake = FakeParent(switch_at=4)
    async with Worker(time_skipping_env.client, task_queue=task_queue,
                      workflows=[DelegationWaitWorkflow], activities=[fake.check]):
        out = await time_skipping_env.client.execute_workflow(
            DelegationWaitWorkflow.run, DelegationWaitInput("shop.test.", deadline_days=1),
            id=f"wait-{uuid.uuid4()}", task_queue=task_queue)
        assert out.checks == 4 and out.waited_seconds == pytest.approx(30 + 60 + 120, abs=2)
        short = FakeParent(switch_at=None)
    async with Worker(time_skipping_env.client, task_queue=task_queue + "-b",
                      workflows=[DelegationWaitWorkflow], activities=[short.check]):
        with pytest.raises(WorkflowFailureError) as err:
            await time_skipping_env.client.execute_workflow(
                DelegationWaitWorkflow.run, DelegationWaitInput("shop.test.", deadline_days=0.01),
                id=f"wait-{uuid.uuid4()}", task_queue=task_queue + "-b")
    assert "0.01 days" in str(err.value.cause)
