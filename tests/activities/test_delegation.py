"""The delegation check against the real parent-zone PowerDNS instance."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delegation import CheckDelegationInput, DelegationActivities
from activities.dns_records import RRset
from starter.stack.process import free_port


def one_record(zone: str) -> list[RRset]:
    return [RRset(zone, "A", 300, ("192.0.2.1",))]


def check(acts: DelegationActivities, domain: str):
    return ActivityEnvironment().run(acts.check, CheckDelegationInput(domain))


def test_flip_of_the_delegation_is_seen(dns_stack) -> None:
    zone = dns_stack.add_customer(one_record)
    before = check(dns_stack.delegation(), zone)
    assert not before.delegated
    assert before.found == ("ns1.oldhost.test.", "ns2.oldhost.test.")
    assert before.missing == dns_stack.nameservers
    assert "ns1.edgeward.net." in before.detail and "registrar" in before.detail
    dns_stack.flip(zone, ["ns1.edgeward.net."])  # half done
    half = check(dns_stack.delegation(), zone)
    assert not half.delegated and half.missing == ("ns2.edgeward.net.",) and not half.extra
    dns_stack.flip(zone)
    after = check(dns_stack.delegation(), zone.upper().rstrip("."))
    assert after.delegated and after.found == dns_stack.nameservers and after.domain == zone


def test_undelegated_domain_is_reported_not_raised(dns_stack) -> None:
    status = check(dns_stack.delegation(), "nobody-has-this-x9.test")
    assert not status.delegated and status.found == ()
    assert "NXDOMAIN" in status.detail


def test_bad_domain_is_invalid_input_and_dead_parent_retries(dns_stack) -> None:
    with pytest.raises(ApplicationError) as err:
        check(dns_stack.delegation(), "http://x.test/")
    assert err.value.non_retryable and err.value.type == "InvalidInput"
    dead = DelegationActivities(("127.0.0.1", free_port()), dns_stack.nameservers, timeout=0.2)
    with pytest.raises(ApplicationError) as err:
        check(dead, "x.test")
    assert not err.value.non_retryable and "did not answer" in str(err.value)
