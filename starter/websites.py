"""Starting, cancelling and nudging Add Website: what the API, the portal and the CLI call.

``submit_website`` normalises the domain, records the website with its license (one
transaction) and starts the AddWebsite workflow under the deterministic id ``website-<id>``.
Submitting the same website again (same customer, same domain) records nothing new and starts
nothing twice; it only starts the workflow if an earlier submit recorded the website but could
not reach Temporal, or re-runs a run that failed. Bad input raises ``WebsiteError`` (or
``schema.licenses.LicenseError`` / ``schema.domains.InvalidDomain``), each saying what to fix.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from schema import licenses
from schema.domains import normalize_domain
from schema.models import Customer, Website, utcnow
from starter.services import Services
from workflows.add_website import AddWebsiteInput, AddWebsiteWorkflow, Progress, workflow_id
from workflows.shared import SA_CUSTOMER, SA_DOMAIN, SA_PARTNER, SA_STEP

DNS_MODES = {"none": "none", "import": "import", "import_ssl": "import_ssl",
             "import-ssl": "import_ssl"}
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$")


class WebsiteError(ValueError):
    """Input that cannot become a website; ``code`` for the API, the message for people."""

    def __init__(self, message: str, code: str = "invalid_website") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SubmittedWebsite:
    website_id: int
    domain_ascii: str
    domain_unicode: str
    workflow_id: str
    started: bool  # False: the workflow was already running or had completed (double submit)


def dns_mode_of(value: str) -> str:
    try:
        return DNS_MODES[value.strip().lower()]
    except KeyError:
        raise WebsiteError(f"unknown DNS mode {value!r}; use none, import or import-ssl",
                           "invalid_dns_mode") from None


def check_origin(origin: str | None) -> str | None:
    """An origin is an IP address or a host name, with an optional port; no scheme or path."""
    if origin is None or not origin.strip():
        return None
    text = origin.strip().lower()
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    if not _HOST.match(text):
        raise WebsiteError(f"origin {origin!r} must be an IP address or a host name (optionally "
                           "with :port), without http:// or a path", "invalid_origin")
    return text


def _customer(session: Session, partner_id: int, customer: int | str) -> Customer:
    if isinstance(customer, int) or str(customer).isdigit():
        return licenses.get_customer(session, partner_id, int(customer))
    found = session.scalars(select(Customer).where(
        Customer.partner_id == partner_id, Customer.email == str(customer).strip())).one_or_none()
    if found is None:
        raise licenses.NotFound(f"no customer with e-mail {customer!r}")
    return found


async def submit_website(services: Services, partner_id: int, customer: int | str, domain: str,
                         license_id: int, dns_mode: str, actor: str, origin: str | None = None,
                         now: datetime | None = None) -> SubmittedWebsite:
    """Record the website (license attached) and start AddWebsite; see the module docstring.

    ``customer`` is the customer's id or e-mail; ``domain`` may be Unicode or ASCII;
    ``dns_mode`` is ``none``, ``import`` or ``import-ssl`` (``import_ssl``); ``actor`` is who
    asks (a user's e-mail, ``api:<prefix>``), recorded in the license event.
    """
    dom = normalize_domain(domain)
    mode = dns_mode_of(dns_mode)
    origin = check_origin(origin)
    now = now or utcnow()
    with services.sessions.begin() as session:
        cust = _customer(session, partner_id, customer)
        site = session.scalars(select(Website).where(
            Website.partner_id == partner_id, Website.domain_ascii == dom.ascii,
            Website.removed_at.is_(None))).one_or_none()
        if site is not None and (site.customer_id != cust.id or site.security_license_id != license_id):
            raise WebsiteError(f"{dom.unicode} is already a website (id {site.id}); remove it "
                               "first or choose another domain", "domain_taken")
        if site is None:
            site = licenses.add_website(session, partner_id, licenses.NewWebsite(
                cust.id, dom.ascii, dom.unicode, mode, license_id), now, actor)
            site.workflow_id = workflow_id(site.id)
        site_id, wf_id, mode = site.id, workflow_id(site.id), site.dns_mode
        stored_origin = origin or (site.origin_addresses[0] if site.origin_addresses else None)
    started = await _start(services, AddWebsiteInput(site_id, partner_id, cust.id, dom.ascii, mode,
                                                     stored_origin,
                                                     services.settings.delegation_deadline_days))
    return SubmittedWebsite(site_id, dom.ascii, dom.unicode, wf_id, started)


async def _start(services: Services, inp: AddWebsiteInput) -> bool:
    attrs = TypedSearchAttributes([
        SearchAttributePair(SA_PARTNER, str(inp.partner_id)),
        SearchAttributePair(SA_CUSTOMER, str(inp.customer_id)),
        SearchAttributePair(SA_DOMAIN, inp.domain),
        SearchAttributePair(SA_STEP, "Pending"),
    ])
    try:
        await services.temporal.start_workflow(
            AddWebsiteWorkflow.run, inp, id=workflow_id(inp.website_id),
            task_queue=services.settings.temporal_task_queue, search_attributes=attrs,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY)
    except WorkflowAlreadyStartedError:
        return False
    return True


def _handle(services: Services, partner_id: int, website_id: int) -> WorkflowHandle:
    with services.sessions() as session:
        licenses.get_website(session, partner_id, website_id)  # the tenant check
    return services.temporal.get_workflow_handle(workflow_id(website_id))


async def cancel_website(services: Services, partner_id: int, website_id: int) -> None:
    """Ask the provisioning run to stop; it removes what it set up and shows Cancelled."""
    await _handle(services, partner_id, website_id).cancel()


async def check_name_servers_now(services: Services, partner_id: int, website_id: int) -> None:
    """The portal's "check now": re-check the delegation at once."""
    await _handle(services, partner_id, website_id).signal(AddWebsiteWorkflow.check_now)


async def website_progress(services: Services, partner_id: int, website_id: int) -> Progress:
    """The run's current step and reason, from the workflow itself."""
    return await _handle(services, partner_id, website_id).query(AddWebsiteWorkflow.progress)
