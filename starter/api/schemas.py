"""Request and response bodies of the REST API (they make its OpenAPI document).

Every string a client sends is checked to be storable text (no NUL, valid Unicode) and bounded;
every integer id fits the database's 32-bit keys. So bad input is a 422 naming the field, never a
500 from the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _storable(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return text


Storable = AfterValidator(_storable)
Name = Annotated[str, Field(min_length=1, max_length=200), Storable]
Company = Annotated[str, Field(max_length=200), Storable]
Phone = Annotated[str, Field(max_length=50), Storable]
Address = Annotated[str, Field(max_length=2000), Storable]
PlanCode = Annotated[str, Field(min_length=1, max_length=40), Storable]
DomainText = Annotated[str, Field(min_length=1, max_length=300), Storable]
Origin = Annotated[str, Field(max_length=300), Storable]


EMAIL_PATTERN = r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN), Storable]
DnsMode = Literal["none", "import", "import_ssl"]


class Problem(BaseModel):
    """An error: what is wrong and what to do, and a short machine-readable code."""

    detail: str
    code: str


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    email: Email
    company: Company = ""
    phone: Phone = ""
    address: Address = ""


class CustomerPatch(BaseModel):
    """Contact information to change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    email: Email | None = None
    company: Company | None = None
    phone: Phone | None = None
    address: Address | None = None


class CustomerOut(BaseModel):
    id: int
    name: str
    email: str
    company: str
    phone: str
    address: str
    created_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at the end")


class UpgradeTarget(BaseModel):
    code: str
    name: str
    available: int = Field(description="unused licenses of this plan: the customer's plus the pool's")


class LicenseOut(BaseModel):
    id: int
    customer_id: int | None
    plan_code: str
    type: str
    slot: str
    site_id: int | None
    site_name: str | None
    site_ascii: str | None
    site_provisioning: str | None
    ordered_at: datetime | None
    expires_at: datetime | None
    auto_renew: bool
    status: str
    eligible_upgrades: list[str]


class LicenseDetail(LicenseOut):
    upgrade_targets: list[UpgradeTarget]


class DistributeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_code: PlanCode


class UpgradeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_code: PlanCode


class AutoRenewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class WebsiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: Id
    domain: DomainText
    license_id: Id
    dns_mode: DnsMode = Field(description="none: No DNS; import: Initiate DNS; "
                              "import_ssl: Initiate DNS and Auto SSL")
    origin: Origin | None = Field(None, description="No DNS only: the origin address, "
                                     "when the domain's current address records are not it")


class DnsRecord(BaseModel):
    name: str
    type: str
    value: str


class CertificateOut(BaseModel):
    names: list[str]
    issuer: str
    serial: str
    sha256: str
    not_before: datetime
    not_after: datetime


class BackupSettings(BaseModel):
    """The backup schedule of a site that has a backup license."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    frequency: Literal["daily", "weekly", "monthly"] = "daily"
    hour: int = Field(2, ge=0, le=23, description="hour of day, UTC")
    weekday: int = Field(0, ge=0, le=6, description="weekly only: 0 = Monday")
    retention_days: int = Field(30, ge=1, le=365)
    include_database: bool = True


class WebsiteOut(BaseModel):
    id: int
    customer_id: int
    domain: str = Field(description="Unicode form")
    domain_ascii: str = Field(description="ASCII (IDNA) form")
    dns_mode: DnsMode
    step: str = Field(description="the Site Provisioning value")
    step_reason: str
    security_license_id: int
    security_plan: str
    backup_license_id: int | None
    backup_plan: str | None
    workflow_id: str | None
    name_servers: list[str] = Field(description="Initiate DNS: point the domain at these")
    records_to_create: list[DnsRecord] = Field(description="No DNS: create these at the DNS host")
    certificate: CertificateOut | None
    backup_settings: BackupSettings | None


class WebsiteAccepted(BaseModel):
    website: WebsiteOut
    workflow_id: str


class BackupLicenseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    license_id: Id


class CustomerDetail(CustomerOut):
    licenses: list[LicenseOut]
    websites: list[WebsiteOut]


class PlanOut(BaseModel):
    code: str
    name: str
    kind: str
    slot: str
    eligible_upgrades: list[str]
    pool_available: int
