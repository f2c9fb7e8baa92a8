"""ACME issuance benchmark: our polling against the ``acme`` client's fixed one-second sleep.

Side by side in one run, on one Pebble (fast profile) and one hosted PowerDNS started here: a
one-name DNS-01 issuance through our activities (``AcmeActivities``: publish, wait until our
server answers, answer, our own growing poll, finalize, verify the chain), against the same
issuance where validation and finalization go through ``ClientV2.poll_and_finalize`` (which
sleeps one second between authorization polls). Rounds alternate, so both see the same
machine. Prints each one's median seconds and the ratio.

    .venv/bin/python bench/acme_issuance.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from activities.acme import (  # noqa: E402
    AcmeActivities,
    AnswerChallengesInput,
    ChallengeRecordsInput,
    FinalizeInput,
    NewOrderInput,
    WaitOrderInput,
    WaitPublishedInput,
)
from activities.acme_account import AcmeAccount, csr_for  # noqa: E402
from activities.acme_dns import ChallengeDns  # noqa: E402
from activities.hosted_dns import PowerDnsClient  # noqa: E402
from schema.secrets import SecretBox  # noqa: E402
from schema.settings import DEV_SECRET_KEY, DEV_SECRET_KEY_ID  # noqa: E402
from starter.stack.dns_world import bootstrap_hosted  # noqa: E402
from starter.stack.pdns import PowerDnsServer  # noqa: E402
from starter.stack.pebble import PebbleServer  # noqa: E402
from starter.stack.process import free_port  # noqa: E402

NAMESERVERS = ("ns1.edgeward.net.", "ns2.edgeward.net.")
VALIDATION_ZONE = "acme.edgeward.net."


def ours(acts: AcmeActivities, zone: str) -> float:
    domain = zone.rstrip(".")
    start = time.perf_counter()
    order = acts.new_order(NewOrderInput(1, [domain]))
    acts.publish_challenges(ChallengeRecordsInput(zone, order.txt_values))
    acts.wait_challenges_published(WaitPublishedInput(order.txt_values, 30))
    acts.answer_challenges(AnswerChallengesInput(order.challenges))
    acts.wait_order_ready(WaitOrderInput(order.order_url, 60))
    acts.finalize(FinalizeInput(1, order.order_url, order.key_sealed, [domain], 60))
    elapsed = time.perf_counter() - start
    acts.withdraw_challenges(ChallengeRecordsInput(zone, order.txt_values))
    return elapsed


def library(acts: AcmeActivities, zone: str) -> float:
    """The same steps, but validation and finalization by ``poll_and_finalize``."""
    from cryptography.hazmat.primitives.asymmetric import ec

    domain = zone.rstrip(".")
    start = time.perf_counter()
    key = ec.generate_private_key(ec.SECP256R1())
    with acts._client() as client:  # noqa: SLF001 - the same registered client
        order = client.new_order(csr_for(key, [domain]))
        values = {}
        challs = []
        for authz in order.authorizations:
            for challb in authz.body.challenges:
                if challb.chall.typ == "dns-01":
                    values[authz.body.identifier.value] = challb.chall.validation(
                        acts._account.jwk())  # noqa: SLF001
                    challs.append(challb)
        acts.publish_challenges(ChallengeRecordsInput(zone, values))
        acts.wait_challenges_published(WaitPublishedInput(values, 30))
        for challb in challs:
            client.answer_challenge(challb, challb.chall.response(acts._account.jwk()))  # noqa: SLF001
        client.poll_and_finalize(order, dt.datetime.now() + dt.timedelta(seconds=60))
    elapsed = time.perf_counter() - start
    acts.withdraw_challenges(ChallengeRecordsInput(zone, values))
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, httpx.Client() as http:
        base = Path(tmp)
        pdns = PowerDnsServer("hosted", base / "pdns", free_port(), free_port(), secrets.token_hex(16))
        pdns.start()
        pebble = PebbleServer(base / "pebble", free_port(), free_port(), pdns.dns_port, "fast")
        pebble.start()
        try:
            client = PowerDnsClient(http, pdns.api_url, pdns.api_key)
            bootstrap_hosted(client, VALIDATION_ZONE, NAMESERVERS)
            box = SecretBox(DEV_SECRET_KEY, DEV_SECRET_KEY_ID)
            acts = AcmeActivities(pebble.directory_url, str(pebble.ca_bundle), pebble.root_url,
                                  AcmeAccount(base / "acme", pebble.directory_url, box),
                                  ChallengeDns(client, VALIDATION_ZONE, [pdns.address]), box)
            times: dict[str, list[float]] = {"ours": [], "library": []}
            for n in range(args.rounds):
                for name, run in (("ours", ours), ("library", library))[:: 1 if n % 2 else -1]:
                    zone = f"b{uuid.uuid4().hex[:10]}.test."
                    client.ensure_zone(zone, NAMESERVERS)
                    times[name].append(run(acts, zone))
                    client.delete_zone(zone)
        finally:
            pebble.stop()
            pdns.stop()
    ours_s, lib_s = statistics.median(times["ours"]), statistics.median(times["library"])
    print(f"one-name DNS-01 issuance, {args.rounds} rounds each, Pebble fast profile")
    print(f"  our activities (own polling):      median {ours_s:.3f} s")
    print(f"  acme poll_and_finalize (1 s sleep): median {lib_s:.3f} s")
    print(f"  ratio library / ours: {lib_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
