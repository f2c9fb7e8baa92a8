"""The plan catalogue and the pure license rules, cell by cell against DESIGN.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schema import plans
from schema.plans import PLANS, ExpiryOutcome, Term

NAMES = {
    "basic": "Basic", "starter": "Starter", "waf_starter": "WAF Starter", "pro": "Pro",
    "premium": "Premium", "pro_trial_30": "Pro Trial 30", "pro_trial_60": "Pro Trial 60",
    "premium_trial_30": "Premium Trial 30", "premium_trial_60": "Premium Trial 60",
    "starter_paid_trial": "Starter Paid with Trial", "pro_paid_trial": "Pro Paid with Trial",
    "premium_paid_trial": "Premium Paid with Trial", "backup_small": "Backup Small",
    "backup_medium": "Backup Medium", "backup_large": "Backup Large",
}

# DESIGN.md's upgrade table, by display name; every pair not listed is refused.
_ALL = {"Starter", "WAF Starter", "Pro", "Premium"}
UPGRADE_TABLE = {
    "Basic": _ALL, "Pro Trial 30": _ALL, "Pro Trial 60": _ALL, "Premium Trial 30": _ALL,
    "Premium Trial 60": _ALL, "Starter": {"WAF Starter", "Pro", "Premium"},
    "WAF Starter": {"Pro", "Premium"}, "Pro": {"Premium"}, "Premium": set(),
    "Backup Small": {"Backup Medium", "Backup Large"}, "Backup Medium": {"Backup Large"},
    "Backup Large": set(), "Starter Paid with Trial": set(), "Pro Paid with Trial": set(),
    "Premium Paid with Trial": set(),
}
BY_NAME = {p.name: p.code for p in PLANS.values()}


def test_catalogue_has_exactly_the_plans_of_the_design_with_their_names() -> None:
    assert {code: p.name for code, p in PLANS.items()} == NAMES


@pytest.mark.parametrize("existing", list(UPGRADE_TABLE))
@pytest.mark.parametrize("target", list(UPGRADE_TABLE))
def test_every_cell_of_the_upgrade_table(existing: str, target: str) -> None:
    allowed = target in UPGRADE_TABLE[existing]
    assert plans.can_upgrade(BY_NAME[existing], BY_NAME[target]) is allowed


def test_paid_with_trial_converts_to_its_paid_plan_after_30_days() -> None:
    for code, paid in [("starter_paid_trial", "starter"), ("pro_paid_trial", "pro"),
                       ("premium_paid_trial", "premium")]:
        assert PLANS[code].converts_to == paid
        start = datetime(2026, 1, 10, tzinfo=UTC)
        assert plans.first_expiry(code, start) == start + timedelta(days=30)


def test_unknown_plan_names_the_valid_codes() -> None:
    with pytest.raises(plans.UnknownPlan, match="valid plans: basic"):
        plans.plan("gold")


@pytest.mark.parametrize(("start", "term", "expected"), [
    (datetime(2026, 1, 31, 12, tzinfo=UTC), Term(months=1), datetime(2026, 2, 28, 12, tzinfo=UTC)),
    (datetime(2024, 2, 29, tzinfo=UTC), Term(months=12), datetime(2025, 2, 28, tzinfo=UTC)),
    (datetime(2026, 11, 15, tzinfo=UTC), Term(months=12), datetime(2027, 11, 15, tzinfo=UTC)),
    (datetime(2026, 12, 20, tzinfo=UTC), Term(days=30), datetime(2027, 1, 19, tzinfo=UTC)),
])
def test_term_arithmetic(start: datetime, term: Term, expected: datetime) -> None:
    assert plans.add_term(start, term) == expected


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),
                    timezones=st.just(UTC)),
       st.integers(min_value=1, max_value=36))
def test_a_term_always_moves_forward_by_about_its_length(start: datetime, months: int) -> None:
    end = plans.add_term(start, Term(months=months))
    assert 28 * months <= (end - start).days <= 31 * months
    assert (end.year - start.year) * 12 + end.month - start.month == months


NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_renewal_extends_from_the_expiry_when_it_is_in_the_future() -> None:
    expiry = NOW + timedelta(days=10)
    assert plans.renewed_expiry("pro", expiry, NOW) == plans.add_term(expiry, Term(months=12))


def test_renewal_extends_from_now_when_already_expired() -> None:
    assert plans.renewed_expiry("pro", NOW - timedelta(days=40), NOW) == datetime(2027, 6, 1,
                                                                                   tzinfo=UTC)


@pytest.mark.parametrize("code", ["basic", "pro_trial_30", "premium_trial_60", "pro_paid_trial"])
def test_free_and_trial_licenses_are_not_renewable(code: str) -> None:
    with pytest.raises(plans.NotRenewable, match="cannot be renewed"):
        plans.renewed_expiry(code, NOW, NOW)


@pytest.mark.parametrize(("code", "auto_renew", "outcome"), [
    ("basic", False, ExpiryOutcome.NOTHING),
    ("pro", True, ExpiryOutcome.RENEW),
    ("pro", False, ExpiryOutcome.EXPIRE_DROP_TO_BASIC),
    ("waf_starter", False, ExpiryOutcome.EXPIRE_DROP_TO_BASIC),
    ("premium", True, ExpiryOutcome.RENEW),
    ("pro_trial_30", False, ExpiryOutcome.END_TRIAL),
    ("premium_trial_60", True, ExpiryOutcome.END_TRIAL),
    ("starter_paid_trial", False, ExpiryOutcome.CONVERT),
    ("pro_paid_trial", True, ExpiryOutcome.CONVERT),
    ("backup_small", False, ExpiryOutcome.EXPIRE_BACKUP),
    ("backup_large", True, ExpiryOutcome.RENEW),
])
def test_what_expiry_does_to_each_plan(code: str, auto_renew: bool, outcome: ExpiryOutcome) -> None:
    assert plans.expiry_outcome(code, auto_renew) is outcome


def test_every_plan_has_an_expiry_outcome() -> None:
    for code in PLANS:
        for auto in (True, False):
            assert isinstance(plans.expiry_outcome(code, auto), ExpiryOutcome)


@pytest.mark.parametrize(("status", "expires", "shown"), [
    ("active", None, "Active"),
    ("active", NOW + timedelta(days=1), "Active"),
    ("active", NOW - timedelta(seconds=1), "Expired"),
    ("expired", NOW + timedelta(days=1), "Expired"),
    ("upgraded", NOW + timedelta(days=100), "Upgraded"),
])
def test_status_shown(status: str, expires: datetime | None, shown: str) -> None:
    assert plans.status_shown(status, expires, NOW) == shown
