"""The three PowerDNS instances of the local stack and what they serve at start.

- hosted: our hosted DNS; always serves the ACME validation zone (``settings.validation_zone``).
- parent: the parent zone (``settings.parent_zone``, e.g. ``test.``) that delegates each customer
  domain to its name servers, with glue. "The customer switched name servers" is
  ``delegate(...)`` here with our name servers (``edgeward dns flip <domain>``).
- oldhost: the customers' current zones (the demo zones of ``starter.stack.demo_zones``).

NS records carry no port: the parent's referral names ``ns1.oldhost.test.`` (glue 127.0.0.1);
whoever follows it must know that the old host answers on ``settings.oldhost_dns_port``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import httpx

from activities.hosted_dns import PowerDnsClient, RRset, absolute
from schema.settings import Settings
from starter.stack import demo_zones
from starter.stack.pdns import PowerDnsServer

PARENT_NAMESERVER = "a.nic.{zone}"


def client_for(http: httpx.Client, server: PowerDnsServer) -> PowerDnsClient:
    return PowerDnsClient(http, server.api_url, server.api_key)


def bootstrap_hosted(client: PowerDnsClient, validation_zone: str, nameservers: Sequence[str]) -> None:
    """The validation zone, so `_acme-challenge` CNAMEs into it resolve from the start."""
    client.ensure_zone(validation_zone, nameservers)


def bootstrap_parent(client: PowerDnsClient, parent_zone: str, address: str = "127.0.0.1") -> None:
    """The parent zone, with glue addresses for the old host's name servers."""
    zone = absolute(parent_zone)
    ns = PARENT_NAMESERVER.format(zone=zone)
    client.ensure_zone(zone, [ns])
    glue = [RRset(ns, "A", 3600, (address,))]
    glue += [RRset(n, "A", 3600, (demo_zones.OLDHOST_ADDRESS,))
             for n in demo_zones.OLDHOST_NAMESERVERS if n.endswith("." + zone)]
    client.replace_rrsets(zone, glue)


def delegate(client: PowerDnsClient, parent_zone: str, domain: str, nameservers: Sequence[str],
             glue: Mapping[str, str] | None = None) -> None:
    """Make the parent delegate ``domain`` to ``nameservers`` (one PATCH; flushes the cache)."""
    name = demo_zones.ascii_zone(domain)
    rrsets = [RRset(name, "NS", 3600, tuple(absolute(n) for n in nameservers))]
    rrsets += [RRset(absolute(n), "A", 3600, (a,)) for n, a in (glue or {}).items()]
    client.replace_rrsets(parent_zone, rrsets)
    client.flush_cache(name)


def delegated_to(client: PowerDnsClient, parent_zone: str, domain: str) -> tuple[str, ...]:
    """The NS names the parent holds for ``domain`` (empty when not delegated)."""
    name = demo_zones.ascii_zone(domain)
    for s in client.get_rrsets(parent_zone) or []:
        if s.name == name and s.type == "NS":
            return s.contents
    return ()


def load_old_zone(client: PowerDnsClient, domain: str, rrsets: Iterable[RRset],
                  allow_axfr: bool = True) -> None:
    """Serve ``domain`` on the old host with exactly ``rrsets`` (plus its SOA and NS)."""
    zone = demo_zones.ascii_zone(domain)
    client.ensure_zone(zone, demo_zones.OLDHOST_NAMESERVERS, "hostmaster.oldhost.test.")
    current = {(s.name, s.type) for s in client.get_rrsets(zone) or []}
    wanted = list(rrsets)
    stale = current - {(s.name, s.type) for s in wanted} - {(zone, "SOA"), (zone, "NS")}
    client.delete_rrsets(zone, sorted(stale))
    client.replace_rrsets(zone, wanted)
    client.set_metadata(zone, "ALLOW-AXFR-FROM", ["127.0.0.0/8"] if allow_axfr else [])


class DnsServerComponent:
    """One PowerDNS instance of `make up`; ``prepare`` fills it once it answers."""

    def __init__(self, name: str, server: PowerDnsServer, settings: Settings) -> None:
        self.name, self.server, self.settings = name, server, settings

    def start(self) -> None:
        self.server.start()
        with httpx.Client() as http:
            self.prepare(client_for(http, self.server), http)

    def prepare(self, client: PowerDnsClient, http: httpx.Client) -> None:
        pass

    def stop(self) -> bool:
        return self.server.stop()

    def describe(self) -> list[str]:
        label = f"DNS {self.name}:".ljust(15)
        return [f"{label}127.0.0.1:{self.server.dns_port} (API {self.server.api_url})"]


class HostedDnsComponent(DnsServerComponent):
    def __init__(self, settings: Settings) -> None:
        super().__init__("hosted", PowerDnsServer(
            "hosted", settings.run_dir / "pdns-hosted", settings.hosted_dns_port,
            settings.hosted_dns_api_port, settings.pdns_api_key), settings)

    def prepare(self, client: PowerDnsClient, http: httpx.Client) -> None:
        bootstrap_hosted(client, self.settings.validation_zone, self.settings.nameservers)


class ParentDnsComponent(DnsServerComponent):
    def __init__(self, settings: Settings) -> None:
        super().__init__("parent", PowerDnsServer(
            "parent", settings.run_dir / "pdns-parent", settings.parent_dns_port,
            settings.parent_dns_api_port, settings.pdns_api_key), settings)

    def prepare(self, client: PowerDnsClient, http: httpx.Client) -> None:
        bootstrap_parent(client, self.settings.parent_zone)


class OldHostDnsComponent(DnsServerComponent):
    """Serves the demo zones and (once) delegates them to itself in the parent; a delegation
    already flipped to our name servers is left alone."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("oldhost", PowerDnsServer(
            "oldhost", settings.run_dir / "pdns-oldhost", settings.oldhost_dns_port,
            settings.oldhost_dns_api_port, settings.pdns_api_key, allow_axfr=False), settings)

    def prepare(self, client: PowerDnsClient, http: httpx.Client) -> None:
        from starter.seed import DEMO_DOMAINS

        parent = client_for(http, ParentDnsComponent(self.settings).server)
        for domain in DEMO_DOMAINS:
            zone = demo_zones.ascii_zone(domain)
            load_old_zone(client, domain, demo_zones.demo_zone(domain),
                          allow_axfr=zone not in demo_zones.AXFR_REFUSED)
            if not delegated_to(parent, self.settings.parent_zone, domain):
                delegate(parent, self.settings.parent_zone, domain, demo_zones.OLDHOST_NAMESERVERS)


def dns_components(settings: Settings) -> list[DnsServerComponent]:
    """In start order: the parent must answer before the old host delegates its zones."""
    return [HostedDnsComponent(settings), ParentDnsComponent(settings), OldHostDnsComponent(settings)]
