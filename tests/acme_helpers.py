"""Builds the ACME activities on the session's Pebble and hosted DNS, for tests."""

from __future__ import annotations

from pathlib import Path

from activities.acme import AcmeActivities
from activities.acme_account import AcmeAccount
from activities.acme_dns import ChallengeDns
from starter.stack.pebble import PebbleServer
from tests.certs import secret_box
from tests.fixtures.dns import DnsStack


def acme_activities(pebble: PebbleServer, dns_stack: DnsStack, folder: Path,
                    extra_servers: list[tuple[str, int]] | None = None) -> AcmeActivities:
    """ACME on ``pebble``; challenge records on the hosted DNS, which must answer them (and so
    must ``extra_servers``, standing in for further authoritative servers)."""
    box = secret_box()
    dns = ChallengeDns(dns_stack.client(dns_stack.hosted), dns_stack.validation_zone,
                       [dns_stack.hosted.address, *(extra_servers or [])])
    return AcmeActivities(pebble.directory_url, str(pebble.ca_bundle), pebble.root_url,
                          AcmeAccount(folder, pebble.directory_url, box), dns, box)
