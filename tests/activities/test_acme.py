"""AcmeActivities against the real Pebble, with DNS-01 records in the real hosted DNS."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.acme import (
    AnswerChallengesInput,
    ChallengeRecordsInput,
    FinalizeInput,
    NewOrderInput,
    WaitOrderInput,
    WaitPublishedInput,
)
from activities.hosted_dns import RRset
from starter.stack.pebble import PebbleServer
from tests.acme_helpers import acme_activities
from tests.fixtures.dns import DnsStack


def hosted_zone(dns_stack: DnsStack) -> str:
    zone = f"a{uuid.uuid4().hex[:10]}.test."
    client = dns_stack.client(dns_stack.hosted)
    client.ensure_zone(zone, dns_stack.nameservers)
    # An old host's stale challenge record, which the CNAME must replace.
    client.replace_rrsets(zone, [RRset(f"_acme-challenge.{zone}", "TXT", 60, ('"stale"',))])
    return zone


def test_issue_a_certificate_for_domain_and_www(pebble: PebbleServer, dns_stack: DnsStack,
                                                      tmp_path: Path) -> None:
    zone = hosted_zone(dns_stack)
    domain = zone.rstrip(".")
    names = [domain, f"www.{domain}"]
    acts = acme_activities(pebble, dns_stack, tmp_path)
    env = ActivityEnvironment()
    order = env.run(acts.new_order, NewOrderInput(7, names))
    assert sorted(c.name for c in order.challenges) == sorted(names)
    # Another pending value at the same TXT name (a concurrent order) must survive ours.
    other = {domain: "someone-else-pending-value"}
    env.run(acts.publish_challenges, ChallengeRecordsInput(zone, other))
    for _ in range(2):  # idempotent
        env.run(acts.publish_challenges, ChallengeRecordsInput(zone, order.txt_values))
    env.run(acts.wait_challenges_published, WaitPublishedInput(order.txt_values, 10))
    env.run(acts.answer_challenges, AnswerChallengesInput(order.challenges))
    env.run(acts.answer_challenges, AnswerChallengesInput(order.challenges))
    env.run(acts.wait_order_ready, WaitOrderInput(order.order_url, 60))
    fin = FinalizeInput(7, order.order_url, order.key_sealed, names, 60)
    out = env.run(acts.finalize, fin)
    again = env.run(acts.finalize, fin)  # a retry after a crash gets the same certificate
    assert again.fullchain_pem == out.fullchain_pem
    leaf = x509.load_pem_x509_certificates(out.fullchain_pem.encode())[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == sorted(names)
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    # Withdrawing ours leaves the other pending value where it was.
    env.run(acts.withdraw_challenges, ChallengeRecordsInput(zone, order.txt_values))
    dns = acts._dns  # noqa: SLF001 - the same ChallengeDns the activities use
    assert dns.missing(other) == []
    assert dns.missing(order.txt_values) != []


def test_txt_never_answered_fails_with_the_reason(pebble: PebbleServer, dns_stack: DnsStack,
                                                        tmp_path: Path) -> None:
    zone = hosted_zone(dns_stack)
    domain = zone.rstrip(".")
    # A second "authoritative server" that never got the record: the old host.
    acts = acme_activities(pebble, dns_stack, tmp_path, extra_servers=[dns_stack.oldhost.address])
    env = ActivityEnvironment()
    order = env.run(acts.new_order, NewOrderInput(8, [domain]))
    env.run(acts.publish_challenges, ChallengeRecordsInput(zone, order.txt_values))
    with pytest.raises(ApplicationError, match="never appeared") as err:
        env.run(acts.wait_challenges_published, WaitPublishedInput(order.txt_values, 1))
    assert err.value.non_retryable
    assert f"127.0.0.1:{dns_stack.oldhost.dns_port}" in str(err.value)


def test_ca_refusing_the_challenge_is_permanent_and_says_why(
        pebble: PebbleServer, dns_stack: DnsStack, tmp_path: Path) -> None:
    zone = hosted_zone(dns_stack)
    domain = zone.rstrip(".")
    acts = acme_activities(pebble, dns_stack, tmp_path)
    env = ActivityEnvironment()
    order = env.run(acts.new_order, NewOrderInput(9, [domain]))
    # The challenge is answered without any TXT record published.
    env.run(acts.answer_challenges, AnswerChallengesInput(order.challenges))
    with pytest.raises(ApplicationError, match="could not confirm control|could not look up") as err:
        env.run(acts.wait_order_ready, WaitOrderInput(order.order_url, 60))
    assert err.value.non_retryable
