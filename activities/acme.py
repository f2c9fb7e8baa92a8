"""Certificates over ACME (RFC 8555), on the PyPI ``acme`` client, as several activities.

Issuance is split so each step retries on its own: ``new_order`` (a fresh ECDSA P-256 key, its
CSR, the order; the key leaves sealed by SecretBox), ``publish_challenges`` and
``wait_challenges_published`` (DNS-01 records in our hosted DNS, until every authoritative
server answers them), ``answer_challenges``, ``wait_order_ready`` (our own polling, not the
client's fixed one-second sleep), ``finalize`` (the chain, verified against the CA's root) and
``withdraw_challenges``. The ``acme`` library is synchronous: these are ``def`` activities on
the worker's thread pool. Errors are translated at the boundary: ``badNonce`` and 5xx retry,
``rateLimited`` retries after the server's delay, ``rejectedIdentifier``, ``caa`` and
``unauthorized`` are permanent and say why.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import requests
from acme import errors as acme_errors
from acme import messages
from acme.client import ClientV2
from cryptography.hazmat.primitives.asymmetric import ec
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.acme_account import AcmeAccount, AcmeNetwork, csr_for, key_pem, verify_chain
from activities.acme_dns import ChallengeDns
from activities.db import key_context
from activities.errors import permanent, transient
from activities.hosted_dns import PowerDnsError, PowerDnsRejected
from schema.secrets import SecretBox

POLL_FIRST, POLL_MAX = 0.1, 2.0  # seconds between polls of an order or of the DNS
PERMANENT_CODES = {
    "rejectedIdentifier": "the CA refuses to issue for this name",
    "caa": "a CAA record of the domain forbids this CA; add it to the CAA records or remove them",
    "unauthorized": "the CA could not confirm control of the domain",
    "incorrectResponse": "the CA found a wrong challenge value",
    "dns": "the CA could not look up the domain's DNS",
    "malformed": "the CA refused the request as malformed",
}
T = TypeVar("T")


@dataclass(frozen=True)
class NewOrderInput:
    website_id: int
    names: list[str]  # ASCII; the domain first, then www.<domain> where it exists


@dataclass(frozen=True)
class Challenge:
    """A pending DNS-01 challenge: the TXT value at ``_acme-challenge.<name>``."""

    name: str
    authz_url: str
    challenge_url: str
    txt_value: str


@dataclass(frozen=True)
class NewOrderOutput:
    order_url: str
    key_sealed: bytes  # the certificate's key, sealed by SecretBox for this website
    challenges: list[Challenge] = field(default_factory=list)  # only those still pending

    @property
    def txt_values(self) -> dict[str, str]:
        return {c.name: c.txt_value for c in self.challenges}


@dataclass(frozen=True)
class ChallengeRecordsInput:
    zone: str  # the customer's zone on our hosted DNS
    values: dict[str, str]  # name -> TXT value
    remove_cname: bool = False  # on withdraw: also remove the _acme-challenge CNAMEs


@dataclass(frozen=True)
class WaitPublishedInput:
    values: dict[str, str]
    deadline_seconds: float = 600.0


@dataclass(frozen=True)
class AnswerChallengesInput:
    challenges: list[Challenge]


@dataclass(frozen=True)
class WaitOrderInput:
    order_url: str
    deadline_seconds: float = 600.0


@dataclass(frozen=True)
class FinalizeInput:
    website_id: int
    order_url: str
    key_sealed: bytes
    names: list[str]
    deadline_seconds: float = 300.0


@dataclass(frozen=True)
class FinalizeOutput:
    fullchain_pem: str


class AcmeActivities:
    """One ACME CA (its directory, the CA file for its TLS, its root) and our hosted DNS."""

    def __init__(self, directory_url: str, verify: str | bool, root_url: str, account: AcmeAccount,
                 dns: ChallengeDns, box: SecretBox, email: str = "") -> None:
        self._directory_url, self._verify, self._root_url = directory_url, verify, root_url
        self._account, self._dns, self._box, self._email = account, dns, box, email

    # -- the client ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _client(self) -> Iterator[ClientV2]:
        """A client registered with our account key; its HTTP session is closed after use."""
        net = AcmeNetwork(self._account.jwk(), verify_ssl=self._verify)
        try:
            yield self._registered(net)
        finally:
            net.session.close()

    def _registered(self, net: AcmeNetwork) -> ClientV2:
        with _translated("reach the ACME directory"):
            client = ClientV2(ClientV2.get_directory(self._directory_url, net), net)
            reg = messages.NewRegistration.from_data(email=self._email or None,
                                                     terms_of_service_agreed=True)
            try:
                client.new_account(reg)
            except acme_errors.ConflictError as exc:  # the key is registered already
                net.account = messages.RegistrationResource(uri=exc.location,
                                                            body=messages.Registration())
        return client

    def _order(self, client: ClientV2, url: str) -> messages.OrderResource:
        body = messages.Order.from_json(client._post_as_get(url).json())
        authzs = [client._authzr_from_response(client._post_as_get(u), uri=u)
                  for u in body.authorizations]
        return messages.OrderResource(body=body, uri=url, authorizations=authzs)

    # -- activities ------------------------------------------------------------------------
    @activity.defn(name="acme.new_order")
    def new_order(self, inp: NewOrderInput) -> NewOrderOutput:
        """A new key and order; returns the DNS-01 challenges still to be met."""
        key = ec.generate_private_key(ec.SECP256R1())
        with self._client() as client, _translated(f"create an order for {', '.join(inp.names)}"):
            order = client.new_order(csr_for(key, inp.names))
        pending = []
        for authz in order.authorizations:
            if authz.body.status == messages.STATUS_VALID:
                continue  # reused authorization (Pebble does this at random)
            chall = _dns01(authz)
            pending.append(Challenge(authz.body.identifier.value, authz.uri, chall.uri,
                                     chall.chall.validation(self._account.jwk())))
        sealed = self._box.seal(key_pem(key), key_context(inp.website_id))
        return NewOrderOutput(order.uri, sealed, pending)

    @activity.defn(name="acme.publish_challenges")
    def publish_challenges(self, inp: ChallengeRecordsInput) -> None:
        """The CNAMEs into the validation zone and our TXT values there (merged, flushed)."""
        with _dns_errors():
            try:
                self._dns.publish(inp.zone, inp.values)
            except LookupError as exc:
                raise permanent(str(exc)) from None

    @activity.defn(name="acme.wait_challenges_published")
    def wait_challenges_published(self, inp: WaitPublishedInput) -> None:
        """Until every one of our authoritative servers answers every TXT value."""
        if _poll(lambda: not self._dns.missing(inp.values) or None, inp.deadline_seconds) is None:
            missing = self._dns.missing(inp.values)
            if not missing:
                return  # it appeared just now
            raise permanent("the challenge TXT record never appeared on our name server(s): "
                            + "; ".join(missing) + f" (waited {inp.deadline_seconds:.0f} s). Our "
                            "DNS servers are out of sync; operations must look at them, then the "
                            "site can be added again")

    @activity.defn(name="acme.answer_challenges")
    def answer_challenges(self, inp: AnswerChallengesInput) -> None:
        """Tell the CA to look; a challenge no longer pending is left alone."""
        with self._client() as client:
            for ch in inp.challenges:
                with _translated(f"answer the challenge for {ch.name}"):
                    authz = client._authzr_from_response(client._post_as_get(ch.authz_url),
                                                         uri=ch.authz_url)
                    chall = _dns01(authz)
                    if chall.status == messages.STATUS_PENDING:
                        client.answer_challenge(chall, chall.chall.response(self._account.jwk()))

    @activity.defn(name="acme.wait_order_ready")
    def wait_order_ready(self, inp: WaitOrderInput) -> None:
        """Poll the order (heartbeating) until it is ready; an invalid one says why."""
        with self._client() as client:

            def check() -> bool | None:
                with _translated("poll the order"):
                    order = self._order(client, inp.order_url)
                status = order.body.status
                if status in (messages.STATUS_READY, messages.STATUS_PROCESSING,
                              messages.STATUS_VALID):
                    return True
                if status == messages.STATUS_INVALID:
                    raise _invalid_order(order)
                return None

            ready = _poll(check, inp.deadline_seconds)
        if ready is None:
            raise transient(f"the CA did not validate the order within {inp.deadline_seconds:.0f} s")

    @activity.defn(name="acme.finalize")
    def finalize(self, inp: FinalizeInput) -> FinalizeOutput:
        """Send the CSR (once), wait for the certificate, verify the chain against the root."""
        key = self._box.open(inp.key_sealed, key_context(inp.website_id))
        with self._client() as client:
            with _translated("finalize the order"):
                order = self._order(client, inp.order_url)
                if order.body.status == messages.STATUS_READY:
                    order = order.update(csr_pem=csr_for(key, inp.names))
                    client.begin_finalization(order)
                status = _poll(lambda: self._finished(client, inp.order_url), inp.deadline_seconds)
            if status is None:
                raise transient(f"the CA did not issue within {inp.deadline_seconds:.0f} s")
            with _translated("download the certificate"):
                chain = client._post_as_get(status).text
                root = requests.get(self._root_url, verify=self._verify, timeout=30)
                root.raise_for_status()
        try:
            verify_chain(chain, root.text, key, inp.names)
        except ValueError as exc:
            raise transient(f"the issued chain does not verify: {exc}") from None
        return FinalizeOutput(chain)

    def _finished(self, client: ClientV2, url: str) -> str | None:
        order = self._order(client, url)
        if order.body.status == messages.STATUS_VALID and order.body.certificate:
            return str(order.body.certificate)
        if order.body.status == messages.STATUS_INVALID:
            raise _invalid_order(order)
        return None

    @activity.defn(name="acme.withdraw_challenges")
    def withdraw_challenges(self, inp: ChallengeRecordsInput) -> None:
        """Take our TXT values out again (and the CNAMEs when asked); others' stay."""
        with _dns_errors():
            self._dns.withdraw(inp.values, inp.zone if inp.remove_cname else None)


def _dns01(authz: messages.AuthorizationResource) -> messages.ChallengeBody:
    for challb in authz.body.challenges:
        if challb.chall.typ == "dns-01":
            return challb
    raise permanent(f"the CA offers no DNS-01 challenge for {authz.body.identifier.value}")


def _invalid_order(order: messages.OrderResource) -> ApplicationError:
    for authz in order.authorizations:
        for challb in authz.body.challenges:
            if challb.error is not None:
                return _from_problem(challb.error, f"validate {authz.body.identifier.value}")
    if order.body.error is not None:
        return _from_problem(order.body.error, "complete the order")
    return permanent("the CA marked the order invalid without a reason")


def _from_problem(err: messages.Error, what: str) -> ApplicationError:
    code = err.code or ""
    detail = err.detail or err.description or code
    if code in PERMANENT_CODES:
        return permanent(f"could not {what}: {PERMANENT_CODES[code]} ({detail})")
    if code == "rateLimited":
        return transient(f"the CA rate-limits us ({detail}); retrying after its delay",
                         retry_after=getattr(err, "retry_after", None) or 60.0)
    return transient(f"could not {what}: {code or 'error'}: {detail}")


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    """ACME and HTTP errors -> our retryable or permanent errors."""
    try:
        yield
    except ApplicationError:
        raise
    except messages.Error as exc:
        raise _from_problem(exc, what) from None
    except (acme_errors.Error, requests.RequestException, OSError) as exc:
        raise transient(f"could not {what}: {type(exc).__name__}: {exc}") from None


@contextlib.contextmanager
def _dns_errors() -> Iterator[None]:
    try:
        yield
    except PowerDnsRejected as exc:
        raise permanent(f"our hosted DNS refused a challenge record: {exc}") from None
    except PowerDnsError as exc:
        raise transient(str(exc)) from None


def _poll(check: Callable[[], T | None], deadline_seconds: float) -> T | None:
    """``check()`` until it returns something, with a growing pause and a heartbeat."""
    deadline = time.monotonic() + deadline_seconds
    pause = POLL_FIRST
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() + pause > deadline:
            return None
        with contextlib.suppress(RuntimeError):  # outside an activity (unit use)
            activity.heartbeat()
        time.sleep(pause)
        pause = min(pause * 2, POLL_MAX)

