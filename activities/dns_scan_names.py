"""Data for the DNS import scan and the readiness report: which names a zone usually holds, and
the networks and CNAME suffixes of the common proxies/CDNs (an address there is not the origin).
"""

from __future__ import annotations

import ipaddress

# Looked up over every type of SCAN_TYPES ("@" is the apex).
SCAN_NAMES = ("@", "www", "mail", "webmail", "ftp", "smtp", "imap", "pop", "pop3", "autodiscover",
              "autoconfig", "cpanel", "whm", "webdisk", "m", "shop", "store", "blog", "api", "app",
              "dev", "staging", "test", "cdn", "static", "portal", "vpn", "remote", "admin", "ns1",
              "ns2", "mx", "email", "secure", "support", "status", "docs", "lyncdiscover", "sip",
              "enterpriseregistration", "enterpriseenrollment")
SCAN_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "CAA", "SRV")

# TXT only: DMARC, domain verification and the common DKIM selectors.
DKIM_SELECTORS = ("default", "dkim", "mail", "google", "selector1", "selector2", "k1", "k2", "k3",
                  "s1", "s2", "mx", "smtp", "mandrill", "mailjet", "sendgrid", "zoho", "protonmail",
                  "protonmail2", "protonmail3", "fm1", "fm2", "fm3", "everlytickey1", "dk", "sig1",
                  "amazonses", "mxvault", "pm", "cm")
TXT_ONLY_NAMES = ("_dmarc", "_domainkey", "_mta-sts", "_smtp._tls", "_github-challenge",
                  *(f"{s}._domainkey" for s in DKIM_SELECTORS))

# SRV only: the usual services.
SRV_NAMES = tuple(f"_{svc}._{proto}" for svc, proto in (
    ("sip", "tcp"), ("sip", "udp"), ("sips", "tcp"), ("sipfederationtls", "tcp"),
    ("xmpp-client", "tcp"), ("xmpp-server", "tcp"), ("jabber", "tcp"), ("autodiscover", "tcp"),
    ("caldav", "tcp"), ("caldavs", "tcp"), ("carddav", "tcp"), ("carddavs", "tcp"),
    ("imap", "tcp"), ("imaps", "tcp"), ("pop3", "tcp"), ("pop3s", "tcp"), ("submission", "tcp"),
    ("submissions", "tcp"), ("smtp", "tcp"), ("ldap", "tcp"), ("kerberos", "tcp"),
    ("kerberos", "udp"), ("minecraft", "tcp"), ("ts3", "udp"), ("matrix", "tcp"), ("h323cs", "tcp"),
    ("http", "tcp"), ("https", "tcp"), ("turn", "udp"), ("stun", "udp"),
))

_NETS = {
    "Cloudflare": ("173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22",
                   "141.101.64.0/18", "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20",
                   "197.234.240.0/22", "198.41.128.0/17", "162.158.0.0/15", "104.16.0.0/13",
                   "104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22", "2400:cb00::/32",
                   "2606:4700::/32", "2803:f800::/32", "2405:b500::/32", "2405:8100::/32",
                   "2a06:98c0::/29", "2c0f:f248::/32"),
    "Sucuri": ("192.124.249.0/24", "185.93.228.0/22", "66.248.200.0/22", "2a02:fe80::/29"),
    "Imperva Incapsula": ("45.60.0.0/16", "45.64.64.0/22", "107.154.0.0/16", "149.126.72.0/21",
                          "192.230.64.0/18", "199.83.128.0/21", "198.143.32.0/19",
                          "2a02:e980::/29"),
}
PROXY_NETWORKS = tuple((ipaddress.ip_network(n), who) for who, nets in _NETS.items() for n in nets)

CNAME_PROXIES = (
    ("cdn.cloudflare.net.", "Cloudflare"), ("incapdns.net.", "Imperva Incapsula"),
    ("sucuri.net.", "Sucuri"), ("sucuridns.com.", "Sucuri"), ("cloudfront.net.", "Amazon CloudFront"),
    ("fastly.net.", "Fastly"), ("fastlylb.net.", "Fastly"), ("akamaiedge.net.", "Akamai"),
    ("edgekey.net.", "Akamai"), ("edgesuite.net.", "Akamai"), ("azureedge.net.", "Azure CDN"),
    ("azurefd.net.", "Azure Front Door"), ("stackpathdns.com.", "StackPath"),
    ("b-cdn.net.", "Bunny CDN"), ("netlify.app.", "Netlify"), ("vercel-dns.com.", "Vercel"),
)
