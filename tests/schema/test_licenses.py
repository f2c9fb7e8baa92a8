"""The license service on SQLite and PostgreSQL: each rule as a partner would see it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from schema import licenses as svc
from schema.models import License, LicenseEvent, Website
from schema.plans import Term, add_term
from tests.factories import NOW, give, make_world, site


def test_distribute_sets_order_date_and_first_expiry(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        w = make_world(s, {"pro": 1, "pro_trial_30": 1, "basic": 1})
        pro = svc.distribute(s, w.partner_id, w.customer_id, "pro", NOW, "alice@partner")
        trial = svc.distribute(s, w.partner_id, w.customer_id, "pro_trial_30", NOW, "alice@partner")
        basic = svc.distribute(s, w.partner_id, w.customer_id, "basic", NOW, "alice@partner")
        assert (pro.customer_id, pro.ordered_at) == (w.customer_id, NOW)
        assert pro.expires_at == add_term(NOW, Term(months=12))
        assert trial.expires_at == NOW + timedelta(days=30)
        assert basic.expires_at is None
        events = s.scalars(select(LicenseEvent).where(LicenseEvent.license_id == pro.id)).all()
        assert [(e.kind, e.actor) for e in events] == [("distributed", "alice@partner")]


def test_distribute_from_an_empty_pool_says_what_to_do(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        w = make_world(s, {"pro": 1})
        svc.distribute(s, w.partner_id, w.customer_id, "pro", NOW, "t")
        with pytest.raises(svc.NoLicenseAvailable, match="no unused Pro license.*buy more"):
            svc.distribute(s, w.partner_id, w.customer_id, "pro", NOW, "t")


def test_another_partners_ids_are_not_found(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        mine, theirs = make_world(s), make_world(s)
        lic = give(s, theirs, "pro")
        with pytest.raises(svc.NotFound):
            svc.renew(s, mine.partner_id, lic.id, NOW, "t")
        with pytest.raises(svc.NotFound):
            svc.distribute(s, mine.partner_id, theirs.customer_id, "pro", NOW, "t")
        with pytest.raises(svc.NotFound):
            svc.set_auto_renew(s, mine.partner_id, lic.id, True, NOW, "t")


def test_add_website_attaches_the_license(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        w = make_world(s)
        lic = give(s, w, "pro")
        ws = site(s, w, lic, "shop.test")
        assert ws.security_license_id == lic.id and lic.website_id == ws.id
        assert svc.website_of(s, lic) is ws


def test_a_used_license_cannot_go_on_a_second_website(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        w = make_world(s)
        lic = give(s, w, "pro")
        site(s, w, lic)
        with pytest.raises(svc.LicenseInUse, match="already on a website"):
            site(s, w, lic)


@pytest.mark.parametrize("bad", ["expired", "upgraded", "past_expiry", "backup", "pool",
                                 "other_customer"])
def test_unusable_licenses_are_refused_with_a_reason(sessions: sessionmaker[Session], bad: str) -> None:
    with sessions.begin() as s:
        w = make_world(s, {"pro": 1})
        lic = give(s, w, "backup_small" if bad == "backup" else "pro")
        if bad in ("expired", "upgraded"):
            lic.status = bad
        if bad == "past_expiry":
            lic.expires_at = NOW - timedelta(days=1)
        if bad == "pool":
            lic = s.scalars(select(License).where(License.customer_id.is_(None),
                                                  License.partner_id == w.partner_id)).first()
        if bad == "other_customer":
            lic = give(s, w, "pro", customer_id=w.other_customer_id)
        expected = {"expired": svc.LicenseExpired, "upgraded": svc.LicenseExpired,
                    "past_expiry": svc.LicenseExpired, "backup": svc.WrongPlanKind,
                    "pool": svc.NotFound, "other_customer": svc.NotFound}[bad]
        with pytest.raises(expected):
            svc.add_website(s, w.partner_id, svc.NewWebsite(
                w.customer_id, "x.test", "x.test", "none", lic.id), NOW, "t")
        assert s.scalars(select(Website)).all() == []


def test_backup_license_rules(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        w = make_world(s)
        ws = site(s, w, give(s, w, "basic"))
        b1, b2 = give(s, w, "backup_small"), give(s, w, "backup_medium")
        with pytest.raises(svc.WrongPlanKind, match="choose a backup license"):
            svc.attach_backup(s, w.partner_id, ws.id, give(s, w, "pro").id, NOW, "t")
        svc.attach_backup(s, w.partner_id, ws.id, b1.id, NOW, "t")
        svc.attach_backup(s, w.partner_id, ws.id, b1.id, NOW, "t")  # again: no change
        assert ws.backup_license_id == b1.id
        with pytest.raises(svc.LicenseInUse, match="already has a backup license; upgrade"):
            svc.attach_backup(s, w.partner_id, ws.id, b2.id, NOW, "t")
        other = site(s, w, give(s, w, "basic"))
        with pytest.raises(svc.LicenseInUse):
            svc.attach_backup(s, w.partner_id, other.id, b1.id, NOW, "t")


def test_upgrade_uses_the_customers_unused_license_first(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        w = make_world(s, {"pro": 1})
        basic = give(s, w, "basic")
        ws = site(s, w, basic)
        own_pro = give(s, w, "pro")
        new = svc.upgrade(s, w.partner_id, basic.id, "pro", NOW, "bob@partner")
        assert new.id == own_pro.id
        assert ws.security_license_id == own_pro.id and basic.status == "upgraded"
        pool_left = s.scalars(select(License).where(License.partner_id == w.partner_id,
                                                    License.customer_id.is_(None))).all()
        assert len(pool_left) == 1  # the pool was not touched


def test_upgrade_takes_from_the_pool_then_fails_clearly(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        w = make_world(s, {"premium": 1})
        pro = give(s, w, "pro")
        ws = site(s, w, pro)
        new = svc.upgrade(s, w.partner_id, pro.id, "premium", NOW, "t")
        assert (new.plan_code, new.customer_id, new.ordered_at) == ("premium", w.customer_id, NOW)
        assert ws.security_license_id == new.id
        starter = give(s, w, "starter")
        with pytest.raises(svc.NoLicenseAvailable, match="no unused Premium license.*pool is empty"):
            svc.upgrade(s, w.partner_id, starter.id, "premium", NOW, "t")
        assert starter.status == "active"


@pytest.mark.parametrize(("existing", "target"), [
    ("pro", "starter"), ("premium", "pro"), ("pro_paid_trial", "premium"), ("basic", "backup_small"),
    ("backup_medium", "backup_small"), ("waf_starter", "waf_starter")])
def test_ineligible_upgrades_are_refused(sessions: sessionmaker[Session], existing: str,
                                         target: str) -> None:
    with sessions.begin() as s:
        w = make_world(s, {target: 1})
        lic = give(s, w, existing)
        with pytest.raises(svc.NotEligible, match="cannot be upgraded.*eligible upgrades"):
            svc.upgrade(s, w.partner_id, lic.id, target, NOW, "t")
        assert lic.status == "active"


def test_renew_extends_from_the_later_of_now_and_expiry(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        w = make_world(s)
        lic = give(s, w, "pro")
        first = lic.expires_at
        svc.renew(s, w.partner_id, lic.id, NOW + timedelta(days=3), "t")
        assert lic.expires_at == add_term(first, Term(months=12))
        with pytest.raises(svc.NotEligible, match="cannot be renewed"):
            svc.renew(s, w.partner_id, give(s, w, "pro_trial_30").id, NOW, "t")


def test_renewing_an_expired_license_restores_it_on_its_site(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        w = make_world(s)
        pro = give(s, w, "pro")
        ws = site(s, w, pro)
        # What the daily schedule does on expiry: drop the site to a new free Basic license.
        basic = give(s, w, "basic")
        ws.security_license_id = basic.id
        pro.status = "expired"
        s.flush()
        later = NOW + timedelta(days=400)
        svc.renew(s, w.partner_id, pro.id, later, "t")
        assert ws.security_license_id == pro.id
        assert pro.expires_at == add_term(later, Term(months=12))
        assert basic.status == "upgraded"


def test_auto_renewal_toggle_records_events(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        w = make_world(s)
        lic = give(s, w, "pro")
        svc.set_auto_renew(s, w.partner_id, lic.id, True, NOW, "t")
        svc.set_auto_renew(s, w.partner_id, lic.id, True, NOW, "t")
        svc.set_auto_renew(s, w.partner_id, lic.id, False, NOW, "t")
        kinds = s.scalars(select(LicenseEvent.kind).where(LicenseEvent.license_id == lic.id)
                          .order_by(LicenseEvent.id)).all()
        assert kinds == ["distributed", "auto_renew_on", "auto_renew_off"]
        with pytest.raises(svc.NotEligible, match="auto-renewal applies to paid"):
            svc.set_auto_renew(s, w.partner_id, give(s, w, "basic").id, True, NOW, "t")
