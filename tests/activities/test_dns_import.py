"""DNS import on real PowerDNS instances: the old host, the parent zone and our hosted DNS."""

from __future__ import annotations

import uuid

import dns.message
import dns.query
import dns.rdata
import dns.rdatatype
import idna
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.dns_import import ReadZoneInput, ReadZoneOutput
from activities.dns_records import RRset
from activities.hosted_dns import ImportZoneInput, ImportZoneOutput
from starter.stack.demo_zones import demo_zone, txt
from starter.stack.process import free_port

EDGE = {"A": {"127.0.0.1"}, "AAAA": {"::1"}}


def every_type(zone: str) -> list[RRset]:
    """The demo zone plus what a scan cannot find: odd names, UTF-8 TXT, an IDN wildcard."""
    return demo_zone(zone, origin="192.0.2.10", origin6="2001:db8::10") + [
        RRset(f"legacy-crm.{zone}", "A", 86400, ("203.0.113.5",)),
        RRset(f"*.apps.{zone}", "CNAME", 300, (f"apps.{zone}",)),
        RRset(f"apps.{zone}", "AAAA", 300, ("2001:db8::5", "2001:db8::6")),
        RRset(f"xn--80ak6aa92e.{zone}", "TXT", 60, (txt("utf-8: café ü"),)),  # a Cyrillic label
        RRset(f"sub.{zone}", "NS", 3600, ("ns.elsewhere.example.",)),
    ]


def ask(server, name: str, rdtype: str) -> tuple[int, set[str]]:
    q = dns.message.make_query(name, rdtype)
    resp = dns.query.tcp(q, server.address[0], port=server.address[1], timeout=3)
    want = dns.rdatatype.from_text(rdtype)
    sets = [r for r in resp.answer + resp.authority if r.rdtype == want and r.name.to_text() == name]
    if not sets:
        return 0, set()
    return sets[0].ttl, {rd.to_text() for rd in sets[0]}


def canonical(s: RRset) -> set[str]:
    return {dns.rdata.from_text("IN", s.type, c).to_text() for c in s.contents}


def read(dns_stack, zone: str, port: int | None = None) -> ReadZoneOutput:
    return ActivityEnvironment().run(dns_stack.importer(port).read_zone, ReadZoneInput(zone))


def import_(dns_stack, read_out: ReadZoneOutput) -> ImportZoneOutput:
    act = dns_stack.hosted_activities()
    return ActivityEnvironment().run(act.import_zone, ImportZoneInput(read_out.zone, read_out.rrsets))


def assert_served_like_old_host(dns_stack, zone: str, source: list[RRset]) -> None:
    """Every source rrset answers the same from our hosted DNS (values and TTL), except the
    web records, which answer the edge addresses."""
    for s in source:
        web = s.name in (zone, "www." + zone) and s.type in ("A", "AAAA")
        old = ask(dns_stack.oldhost, s.name, s.type)
        new = ask(dns_stack.hosted, s.name, s.type)
        assert old[1] == canonical(s) or s.type == "NS", (s, old)  # the source really served it
        if web:
            assert new[1] == EDGE[s.type], s
        else:
            assert new == old, s


def test_axfr_import_is_faithful_record_by_record(dns_stack) -> None:
    source = every_type
    zone = dns_stack.add_customer(source)
    out = read(dns_stack, zone)
    assert out.method == "axfr"
    assert out.source_nameservers == ("ns1.oldhost.test.", "ns2.oldhost.test.")
    got = {(s.name, s.type): s for s in out.rrsets}
    for s in source(zone):
        assert (s.name, s.type) in got, s
        assert got[(s.name, s.type)].ttl == s.ttl
        assert len(got[(s.name, s.type)].contents) == len(s.contents)
    dkim = got[(f"default._domainkey.{zone}", "TXT")].contents[0]
    assert len(dkim) > 300 and dkim.count('" "') >= 1  # > 255 bytes, several strings
    imported = import_(dns_stack, out)
    assert imported.origin_addresses == ("192.0.2.10", "2001:db8::10")
    assert imported.nameservers == dns_stack.nameservers
    assert_served_like_old_host(dns_stack, zone, source(zone))
    # www was a CNAME to the apex, so it still is and follows the apex to the edge
    assert ask(dns_stack.hosted, f"www.{zone}", "CNAME")[1] == {zone}
    assert ask(dns_stack.hosted, zone, "NS")[1] == set(dns_stack.nameservers)


def test_axfr_refused_falls_back_to_the_scan(dns_stack) -> None:
    zone = dns_stack.add_customer(every_type, allow_axfr=False)
    out = read(dns_stack, zone)
    assert out.method == "scan"
    got = {(s.name, s.type): s for s in out.rrsets}
    scannable = [s for s in demo_zone(zone, origin="192.0.2.10", origin6="2001:db8::10")
                 if not s.name.startswith(("sip.", "sip2.", "xn--bcher-kva."))]
    for s in scannable:
        assert got.get((s.name, s.type)) == RRset(s.name, s.type, s.ttl,
                                                  tuple(sorted(s.contents))), s
    assert (f"legacy-crm.{zone}", "A") not in got  # only a zone transfer finds uncommon names
    assert any("refused a zone transfer" in n for n in out.readiness.notes)
    import_(dns_stack, out)
    assert_served_like_old_host(dns_stack, zone, scannable)


def test_unreachable_old_host_is_a_clear_failure(dns_stack) -> None:
    zone = dns_stack.add_customer(every_type)
    with pytest.raises(ApplicationError) as err:
        read(dns_stack, zone, port=free_port())
    assert err.value.non_retryable
    assert "none of the current name servers" in str(err.value)
    assert "ns1.oldhost.test." in str(err.value)


def test_domain_the_parent_does_not_delegate_is_a_clear_failure(dns_stack) -> None:
    with pytest.raises(ApplicationError) as err:
        read(dns_stack, "never-registered-x1.test")
    assert err.value.non_retryable and "does not delegate" in str(err.value)


def test_importing_twice_leaves_the_same_zone_and_drops_what_is_gone(dns_stack) -> None:
    zone = dns_stack.add_customer(every_type)
    first = import_(dns_stack, read(dns_stack, zone))
    hosted = dns_stack.client(dns_stack.hosted)
    before = hosted.get_rrsets(zone)
    second = import_(dns_stack, read(dns_stack, zone))
    assert first.created and not second.created
    after = hosted.get_rrsets(zone)
    assert [(s.name, s.type, s.ttl, s.contents) for s in after if s.type != "SOA"] == \
        [(s.name, s.type, s.ttl, s.contents) for s in before if s.type != "SOA"]
    # the customer deleted a record at the old host: a re-import removes it here too
    dns_stack.client(dns_stack.oldhost).delete_rrsets(zone, [(f"legacy-crm.{zone}", "A")])
    import_(dns_stack, read(dns_stack, zone))
    assert ask(dns_stack.hosted, f"legacy-crm.{zone}", "A")[1] == set()


def test_refused_record_fails_for_good_naming_it_and_leaves_no_zone(dns_stack) -> None:
    zone = "refused-x7.test."
    bad = ImportZoneInput(zone, (RRset(f"mail.{zone}", "MX", 300, ("ten mail.example.",)),))
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(dns_stack.hosted_activities().import_zone, bad)
    assert err.value.non_retryable and f"mail.{zone}" in str(err.value)
    assert dns_stack.client(dns_stack.hosted).get_zone(zone) is None


def test_record_only_powerdns_refuses_fails_for_good_and_leaves_no_zone(dns_stack) -> None:
    """A CNAME beside another record passes our own check; PowerDNS refuses it."""
    zone = "refused-y8.test."
    bad = ImportZoneInput(zone, (RRset(f"blog.{zone}", "A", 300, ("192.0.2.7",)),
                                 RRset(f"blog.{zone}", "CNAME", 300, (f"www.{zone}",))))
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(dns_stack.hosted_activities().import_zone, bad)
    assert err.value.non_retryable and f"blog.{zone}" in str(err.value)
    assert dns_stack.client(dns_stack.hosted).get_zone(zone) is None


def test_readiness_report_finds_ds_caa_and_other_proxies(dns_stack) -> None:
    def records(zone: str) -> list[RRset]:
        return [RRset(zone, "A", 300, ("104.16.1.1",)),
                RRset(f"www.{zone}", "CNAME", 300, ("x.cdn.cloudflare.net.",)),
                RRset(zone, "CAA", 300, ('0 issue "otherca.example"',))]

    zone = dns_stack.add_customer(records)
    ds = "12345 13 2 " + "ab" * 32
    dns_stack.client(dns_stack.parent).replace_rrsets("test.", [RRset(zone, "DS", 3600, (ds,))])
    r = read(dns_stack, zone).readiness
    assert len(r.proxy_records) == 2 and all("Cloudflare" in p for p in r.proxy_records)
    assert r.parent_ds and "DNSSEC" in r.parent_ds[0]
    assert r.caa_blocks and "otherca.example" in r.caa_blocks[0]
    assert len(r.blocking()) == 2


def test_idn_domain_reads_by_its_unicode_name(dns_stack) -> None:
    unicode = f"café-{uuid.uuid4().hex[:8]}.test"
    zone = dns_stack.add_customer(every_type, zone=idna.encode(unicode, uts46=True).decode() + ".")
    assert zone.startswith("xn--")
    out = read(dns_stack, unicode)
    assert out.zone == zone and out.method == "axfr"


def large_zone(zone: str, count: int = 5000) -> list[RRset]:
    kinds = ("A", "AAAA", "TXT", "CNAME")
    out = []
    for i in range(count):
        kind = kinds[i % 4]
        value = {"A": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", "AAAA": f"2001:db8::{i:x}",
                 "TXT": txt(f"record {i} of a large zone"), "CNAME": f"h{i - 1}.{zone}"}[kind]
        out.append(RRset(f"h{i}.{zone}", kind, 300 + i % 7, (value,)))
    return out


def test_five_thousand_record_zone_goes_in_batched_patches(dns_stack) -> None:
    zone = dns_stack.add_customer(large_zone)
    out = read(dns_stack, zone)
    assert len(out.rrsets) == 5000
    imported = import_(dns_stack, out)
    # 5,000 rrsets + apex and www at the edge, 1,000 rrsets per PATCH
    assert len(imported.rrsets) == 5004 and imported.requests == 6
    served = dns_stack.client(dns_stack.hosted).get_rrsets(zone)
    assert served is not None and len([s for s in served if s.name.startswith("h")]) == 5000
    for i in (0, 1, 2, 3, 4998, 4999):
        s = large_zone(zone)[i]
        assert ask(dns_stack.hosted, s.name, s.type) == (s.ttl, canonical(s))
