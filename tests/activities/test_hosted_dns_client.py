"""PowerDnsClient against a real PowerDNS: zones, rrsets, refusals, the CNAME cache trap."""

from __future__ import annotations

import uuid

import dns.message
import dns.query
import dns.rdatatype
import pytest

from activities.hosted_dns import PowerDnsClient, PowerDnsRejected, PowerDnsUnavailable, RRset
from starter.stack.process import free_port


def ask(server, name: str, rdtype: str) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype)
    return dns.query.udp(q, server.address[0], port=server.address[1], timeout=2)


def answer_texts(resp: dns.message.Message, rdtype: str) -> set[str]:
    return {rd.to_text() for rrset in resp.answer if rrset.rdtype == dns.rdatatype.from_text(rdtype)
            for rd in rrset}


def fresh_zone() -> str:
    return f"t{uuid.uuid4().hex[:10]}.test."


def test_zone_lifecycle_is_idempotent(dns_stack) -> None:
    c = dns_stack.client(dns_stack.hosted)
    zone = fresh_zone()
    assert c.ensure_zone(zone, dns_stack.nameservers) is True
    assert c.ensure_zone(zone, dns_stack.nameservers) is False
    www = RRset("www." + zone, "A", 300, ("192.0.2.1", "192.0.2.2"))
    c.replace_rrsets(zone, [www])
    c.replace_rrsets(zone, [www])
    resp = ask(dns_stack.hosted, "www." + zone, "A")
    assert answer_texts(resp, "A") == {"192.0.2.1", "192.0.2.2"}
    assert answer_texts(ask(dns_stack.hosted, zone, "NS"), "NS") == set(dns_stack.nameservers)
    soa = ask(dns_stack.hosted, zone, "SOA").answer[0][0]
    assert soa.mname.to_text() == "ns1.edgeward.net."
    c.delete_rrsets(zone, [("www." + zone, "A")])
    c.delete_rrsets(zone, [("www." + zone, "A")])
    assert answer_texts(ask(dns_stack.hosted, "www." + zone, "A"), "A") == set()
    assert c.delete_zone(zone) is True
    assert c.delete_zone(zone) is False
    assert c.get_zone(zone) is None


def test_refused_record_names_the_record(dns_stack) -> None:
    c = dns_stack.client(dns_stack.hosted)
    zone = fresh_zone()
    c.ensure_zone(zone, dns_stack.nameservers)
    bad = RRset("mail." + zone, "MX", 300, ("ten mail.example.",))
    with pytest.raises(PowerDnsRejected) as err:
        c.replace_rrsets(zone, [RRset("ok." + zone, "A", 300, ("192.0.2.9",)), bad])
    assert "mail." + zone in str(err.value)
    # nothing of the refused batch is stored
    assert answer_texts(ask(dns_stack.hosted, "ok." + zone, "A"), "A") == set()
    c.delete_zone(zone)


def test_unreachable_api_is_unavailable(dns_stack) -> None:
    c = PowerDnsClient(dns_stack.http, f"http://127.0.0.1:{free_port()}/api/v1/servers/localhost", "x")
    with pytest.raises(PowerDnsUnavailable):
        c.get_zone("example.test.")


def test_acme_cname_into_validation_zone_after_flush(dns_stack) -> None:
    """A customer zone's _acme-challenge CNAME into the validation zone answers the new TXT at
    once when the owner name's cache is flushed (STACK.md cache trap)."""
    c = dns_stack.client(dns_stack.hosted)
    zone = fresh_zone()
    c.ensure_zone(zone, dns_stack.nameservers)
    target = f"{zone[:-1]}.{dns_stack.validation_zone}"
    c.replace_rrsets(zone, [RRset("_acme-challenge." + zone, "CNAME", 60, (target,))])
    c.replace_rrsets(dns_stack.validation_zone, [RRset(target, "TXT", 60, ('"first"',))])
    assert answer_texts(ask(dns_stack.hosted, "_acme-challenge." + zone, "TXT"), "TXT") == {'"first"'}
    c.replace_rrsets(dns_stack.validation_zone, [RRset(target, "TXT", 60, ('"second"',))])
    c.flush_cache("_acme-challenge." + zone)
    assert answer_texts(ask(dns_stack.hosted, "_acme-challenge." + zone, "TXT"), "TXT") == {'"second"'}
    c.delete_zone(zone)
    c.delete_rrsets(dns_stack.validation_zone, [(target, "TXT")])
