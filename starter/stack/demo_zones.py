"""The demo customers' current zones, as their old DNS host serves them (`make up`).

Realistic on purpose: several values per name, distinct TTLs, a DKIM key longer than 255 bytes
(several TXT strings), a TXT holding quotes, CAA, SRV, an IDN name inside the zone, and a record
pointing at another proxy. ``AXFR_REFUSED`` zones make the importer fall back to its scan.
"""

from __future__ import annotations

import base64
import hashlib

import idna

from activities.hosted_dns import RRset

OLDHOST_NAMESERVERS = ("ns1.oldhost.test.", "ns2.oldhost.test.")
OLDHOST_ADDRESS = "127.0.0.1"
# These demo zones refuse AXFR, so their import scans common names instead.
AXFR_REFUSED = frozenset({"beta-blog.test."})


def ascii_zone(domain: str) -> str:
    """``café.test`` -> ``xn--caf-dma.test.`` (UTS-46)."""
    return idna.encode(domain.rstrip("."), uts46=True).decode().lower() + "."


def dkim_value(seed: str, bits: int = 2048) -> str:
    """A DKIM TXT value of RSA-key length (> 255 bytes), split in 255-byte strings."""
    raw = b"".join(hashlib.sha256(f"{seed}{i}".encode()).digest() for i in range(bits // 256 + 2))
    text = "v=DKIM1; k=rsa; p=" + base64.b64encode(raw[: bits // 8 + 38]).decode()
    return txt(text)


def txt(text: str) -> str:
    """One TXT value in presentation format: quoted, 255-byte strings, quotes escaped."""
    parts = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
    return " ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in parts)


def demo_zone(domain: str, origin: str = "127.0.0.1", origin6: str = "::1") -> list[RRset]:
    """Every rrset of one demo domain's current zone (without SOA and NS)."""
    z = ascii_zone(domain)

    def n(label: str) -> str:
        return z if label == "@" else f"{label}.{z}"

    return [
        RRset(z, "A", 300, (origin,)),
        RRset(z, "AAAA", 300, (origin6,)),
        RRset(n("www"), "CNAME", 300, (z,)),
        RRset(z, "MX", 3600, (f"10 {n('mail')}", "20 mx2.mailhost.example.")),
        RRset(z, "TXT", 3600, (txt("v=spf1 mx include:_spf.mailhost.example -all"),
                               txt("google-site-verification=Zx81dW4kQe9bLr0pXn3t"),
                               txt('note="quoted" value'))),
        RRset(z, "CAA", 3600, ('0 issue "letsencrypt.org"', f'0 iodef "mailto:security@{z[:-1]}"')),
        RRset(n("mail"), "A", 3600, ("192.0.2.25",)),
        RRset(n("webmail"), "CNAME", 3600, (n("mail"),)),
        RRset(n("default._domainkey"), "TXT", 3600, (dkim_value(z),)),
        RRset(n("_dmarc"), "TXT", 3600, (txt(f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{z[:-1]}"),)),
        RRset(n("_sip._tcp"), "SRV", 3600, (f"10 60 5060 {n('sip')}", f"20 10 5060 {n('sip2')}")),
        RRset(n("_autodiscover._tcp"), "SRV", 3600, (f"0 0 443 {n('mail')}",)),
        RRset(n("sip"), "A", 3600, ("192.0.2.50",)),
        RRset(n("sip2"), "A", 3600, ("192.0.2.51",)),
        RRset(n("api"), "A", 120, ("198.51.100.10", "198.51.100.11")),
        RRset(n("shop"), "CNAME", 600, ("shops.storehost.example.",)),
        RRset(n("blog"), "CNAME", 600, ("beta.cdn.cloudflare.net.",)),
        RRset(n("xn--bcher-kva"), "A", 3600, ("192.0.2.77",)),  # bücher.<domain>
    ]


def soa_and_ns(zone: str) -> list[RRset]:
    z = ascii_zone(zone)
    return [RRset(z, "SOA", 3600, (f"{OLDHOST_NAMESERVERS[0]} hostmaster.oldhost.test. "
                                   "2024010101 10800 3600 604800 3600",)),
            RRset(z, "NS", 3600, OLDHOST_NAMESERVERS)]
