"""The plan catalogue, as data, and the pure license rules that follow from it.

Nothing here touches a database or a clock: callers pass ``now``. The upgrade table is exactly
the one in DESIGN.md; every pair it does not list is refused.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class PlanKind(enum.StrEnum):
    """How a plan is sold, which decides what expiry does to it."""

    FREE = "free"
    PAID = "paid"
    TRIAL = "trial"
    PAID_WITH_TRIAL = "paid_with_trial"
    BACKUP = "backup"


class Slot(enum.StrEnum):
    """Which place on a website a license of the plan takes."""

    SECURITY = "security"
    BACKUP = "backup"


@dataclass(frozen=True)
class Term:
    """A license term: calendar months plus days. A zero term never expires."""

    months: int = 0
    days: int = 0

    @property
    def never_expires(self) -> bool:
        return self.months == 0 and self.days == 0

    def describe(self) -> str:
        if self.never_expires:
            return "no expiry"
        if self.months and not self.days:
            return "1 year" if self.months == 12 else f"{self.months} months"
        return f"{self.days} days"


@dataclass(frozen=True)
class Features:
    """What the edge and the back office do for a site on this plan."""

    cdn: bool = True
    waf_rules: str = "none"  # "none", "basic" or "full"
    malware_scan_hours: int | None = None  # None: no scan
    auto_ssl: bool = True
    backup_storage_gb: int = 0


@dataclass(frozen=True)
class Plan:
    """One plan of the catalogue."""

    code: str
    name: str
    kind: PlanKind
    term: Term
    features: Features
    upgrades: tuple[str, ...] = ()
    converts_to: str | None = None  # Paid with Trial: the paid plan at the trial's end
    trial: Term = field(default_factory=Term)

    @property
    def slot(self) -> Slot:
        return Slot.BACKUP if self.kind is PlanKind.BACKUP else Slot.SECURITY


YEAR = Term(months=12)
_SECURITY_UP_ALL = ("starter", "waf_starter", "pro", "premium")

_BASIC = Features(cdn=True, waf_rules="none", malware_scan_hours=None)
_STARTER = Features(waf_rules="none", malware_scan_hours=24)
_WAF_STARTER = Features(waf_rules="basic", malware_scan_hours=24)
_PRO = Features(waf_rules="full", malware_scan_hours=6)
_PREMIUM = Features(waf_rules="full", malware_scan_hours=1)


def _backup(gb: int) -> Features:
    return Features(cdn=False, auto_ssl=False, backup_storage_gb=gb)


PLANS: dict[str, Plan] = {
    p.code: p
    for p in (
        Plan("basic", "Basic", PlanKind.FREE, Term(), _BASIC, _SECURITY_UP_ALL),
        Plan("starter", "Starter", PlanKind.PAID, YEAR, _STARTER, ("waf_starter", "pro", "premium")),
        Plan("waf_starter", "WAF Starter", PlanKind.PAID, YEAR, _WAF_STARTER, ("pro", "premium")),
        Plan("pro", "Pro", PlanKind.PAID, YEAR, _PRO, ("premium",)),
        Plan("premium", "Premium", PlanKind.PAID, YEAR, _PREMIUM, ()),
        Plan("pro_trial_30", "Pro Trial 30", PlanKind.TRIAL, Term(days=30), _PRO, _SECURITY_UP_ALL),
        Plan("pro_trial_60", "Pro Trial 60", PlanKind.TRIAL, Term(days=60), _PRO, _SECURITY_UP_ALL),
        Plan("premium_trial_30", "Premium Trial 30", PlanKind.TRIAL, Term(days=30), _PREMIUM,
             _SECURITY_UP_ALL),
        Plan("premium_trial_60", "Premium Trial 60", PlanKind.TRIAL, Term(days=60), _PREMIUM,
             _SECURITY_UP_ALL),
        Plan("starter_paid_trial", "Starter Paid with Trial", PlanKind.PAID_WITH_TRIAL, YEAR,
             _STARTER, (), converts_to="starter", trial=Term(days=30)),
        Plan("pro_paid_trial", "Pro Paid with Trial", PlanKind.PAID_WITH_TRIAL, YEAR, _PRO, (),
             converts_to="pro", trial=Term(days=30)),
        Plan("premium_paid_trial", "Premium Paid with Trial", PlanKind.PAID_WITH_TRIAL, YEAR,
             _PREMIUM, (), converts_to="premium", trial=Term(days=30)),
        Plan("backup_small", "Backup Small", PlanKind.BACKUP, YEAR, _backup(10),
             ("backup_medium", "backup_large")),
        Plan("backup_medium", "Backup Medium", PlanKind.BACKUP, YEAR, _backup(50),
             ("backup_large",)),
        Plan("backup_large", "Backup Large", PlanKind.BACKUP, YEAR, _backup(200), ()),
    )
}


class UnknownPlan(ValueError):
    """A plan code that is not in the catalogue."""


def plan(code: str) -> Plan:
    """The plan with this code, or UnknownPlan naming the valid codes."""
    try:
        return PLANS[code]
    except KeyError:
        raise UnknownPlan(f"unknown plan {code!r}; valid plans: {', '.join(PLANS)}") from None


def can_upgrade(existing: str, target: str) -> bool:
    """Whether the upgrade table allows ``existing`` -> ``target``."""
    return target in plan(existing).upgrades


def add_term(start: datetime, term: Term) -> datetime:
    """``start`` moved on by ``term``; a month step clamps to the month's last day."""
    month_index = start.month - 1 + term.months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day) + timedelta(days=term.days)


def first_expiry(code: str, ordered_at: datetime) -> datetime | None:
    """The expiry of a license distributed at ``ordered_at`` (None: never expires).

    A Paid-with-Trial license first runs until its trial ends; conversion then gives it its term.
    """
    p = plan(code)
    if p.kind is PlanKind.PAID_WITH_TRIAL:
        return add_term(ordered_at, p.trial)
    return None if p.term.never_expires else add_term(ordered_at, p.term)


class NotRenewable(ValueError):
    """Only paid and backup licenses can be renewed."""


def renewed_expiry(code: str, expires_at: datetime | None, now: datetime) -> datetime:
    """A renewal extends by the plan's term from the later of ``now`` and the expiry."""
    p = plan(code)
    if p.kind not in (PlanKind.PAID, PlanKind.BACKUP):
        raise NotRenewable(f"a {p.name} license cannot be renewed; upgrade it to a paid plan instead")
    start = now if expires_at is None or expires_at < now else expires_at
    return add_term(start, p.term)


class ExpiryOutcome(enum.StrEnum):
    """What the daily schedule does to a license that reached its expiry."""

    RENEW = "renew"
    EXPIRE_DROP_TO_BASIC = "expire_drop_to_basic"
    END_TRIAL = "end_trial"
    CONVERT = "convert"
    EXPIRE_BACKUP = "expire_backup"
    NOTHING = "nothing"


def expiry_outcome(code: str, auto_renew: bool) -> ExpiryOutcome:
    """The outcome row of DESIGN.md for a license of plan ``code`` at its expiry."""
    kind = plan(code).kind
    if kind is PlanKind.FREE:
        return ExpiryOutcome.NOTHING
    if kind is PlanKind.TRIAL:
        return ExpiryOutcome.END_TRIAL
    if kind is PlanKind.PAID_WITH_TRIAL:
        return ExpiryOutcome.CONVERT
    if auto_renew:
        return ExpiryOutcome.RENEW
    if kind is PlanKind.BACKUP:
        return ExpiryOutcome.EXPIRE_BACKUP
    return ExpiryOutcome.EXPIRE_DROP_TO_BASIC


class LicenseStatus(enum.StrEnum):
    """The stored state of a license."""

    ACTIVE = "active"
    EXPIRED = "expired"
    UPGRADED = "upgraded"


def status_shown(status: str, expires_at: datetime | None, now: datetime) -> str:
    """The Status column: Active, Expired or Upgraded.

    A license past its expiry shows Expired even before the daily sweep has handled it.
    """
    if status == LicenseStatus.UPGRADED:
        return "Upgraded"
    if status == LicenseStatus.EXPIRED or (expires_at is not None and expires_at <= now):
        return "Expired"
    return "Active"


def catalogue_json() -> list[dict[str, object]]:
    """The catalogue as plain data, for ``edgeward plans --json`` and the API."""
    out: list[dict[str, object]] = []
    for p in PLANS.values():
        f = p.features
        out.append({
            "code": p.code,
            "name": p.name,
            "kind": p.kind.value,
            "slot": p.slot.value,
            "term": {"months": p.term.months, "days": p.term.days, "text": p.term.describe()},
            "trial_days": p.trial.days or None,
            "converts_to": p.converts_to,
            "features": {
                "cdn": f.cdn, "waf_rules": f.waf_rules,
                "malware_scan_hours": f.malware_scan_hours, "auto_ssl": f.auto_ssl,
                "backup_storage_gb": f.backup_storage_gb,
            },
            "eligible_upgrades": list(p.upgrades),
        })
    return out
