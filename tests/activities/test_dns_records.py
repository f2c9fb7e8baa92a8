"""The import plan (pure): web records to the edge, the origin kept, nothing else changed."""

from __future__ import annotations

from activities.dns_import import proxy_of, readiness
from activities.dns_records import RRset, check_contents, plan_import

Z = "shop.test."


def keyed(rrsets):
    return {(s.name, s.type): s for s in rrsets}


def test_apex_and_www_point_at_the_edge_and_the_origin_is_kept() -> None:
    src = [RRset(Z, "A", 600, ("192.0.2.1", "192.0.2.2")), RRset(Z, "AAAA", 600, ("2001:db8::1",)),
           RRset("www." + Z, "A", 900, ("192.0.2.1",)), RRset("mail." + Z, "A", 60, ("192.0.2.9",)),
           RRset(Z, "NS", 3600, ("ns.old.example.",)), RRset(Z, "SOA", 3600, ("x. y. 1 2 3 4 5",)),
           RRset("_acme-challenge." + Z, "TXT", 60, ('"stale"',))]
    out, origin = plan_import(Z, src, ["203.0.113.7"])
    got = keyed(out)
    assert origin == ("192.0.2.1", "192.0.2.2", "2001:db8::1")
    assert got[(Z, "A")] == RRset(Z, "A", 300, ("203.0.113.7",))
    assert (Z, "AAAA") not in got  # no IPv6 edge: an AAAA left behind would bypass the edge
    assert got[("www." + Z, "A")].contents == ("203.0.113.7",)
    assert got[("mail." + Z, "A")] == src[3]
    assert not {(Z, "NS"), (Z, "SOA"), ("_acme-challenge." + Z, "TXT")} & got.keys()


def test_www_cname_elsewhere_becomes_the_origin() -> None:
    src = [RRset("www." + Z, "CNAME", 300, ("shops.host.example.",))]
    out, origin = plan_import(Z, src, ["203.0.113.7", "2001:db8::7"])
    got = keyed(out)
    assert origin == ("shops.host.example",)
    assert ("www." + Z, "CNAME") not in got
    assert got[("www." + Z, "AAAA")].contents == ("2001:db8::7",)


def test_check_contents_names_the_bad_record() -> None:
    assert check_contents([RRset(Z, "MX", 60, ("10 mail.shop.test.",))]) == ""
    msg = check_contents([RRset("x." + Z, "A", 60, ("999.1.1.1",))])
    assert "x.shop.test." in msg and "999.1.1.1" in msg


def test_readiness_caa_allowing_us_is_not_blocking() -> None:
    rr = [RRset(Z, "CAA", 60, ('0 issue "letsencrypt.org"', '0 issue "other.example"')),
          RRset(Z, "A", 60, ("192.0.2.1",))]
    assert readiness(Z, rr, [], [], ["letsencrypt.org"]).blocking() == ()
    deny = [RRset(Z, "CAA", 60, ('0 issue ";"',))]
    assert readiness(Z, deny, [], [], ["letsencrypt.org"]).caa_blocks
    assert proxy_of("AAAA", "2606:4700::1") == "Cloudflare"
    assert proxy_of("A", "192.0.2.1") == ""
