"""The expiry outcomes on SQLite and PostgreSQL, one table row at a time, as a partner sees them."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from schema import expiry
from schema import licenses as svc
from schema.models import License, LicenseEvent, Website
from schema.plans import Term, add_term
from tests.factories import NOW, World, give, make_world, site

ACTOR = "workflow:license-expiry-test"
YEAR = Term(months=12)


def sweep(sessions: sessionmaker[Session], as_of: datetime, chunk: int = 3,
          actor: str = ACTOR) -> int:
    """Run chunks until nothing is due; returns how many licenses were handled."""
    after, total = None, 0
    for _ in range(10_000):
        with sessions.begin() as s:
            c = expiry.sweep_chunk(s, as_of, after, chunk, actor)
        if c.last is None:
            return total
        after, total = c.last, total + c.handled
    raise AssertionError("the sweep did not finish")


def events(s: Session, lic: License) -> list[tuple[str, str]]:
    return [(e.kind, e.actor) for e in s.scalars(select(LicenseEvent).where(
        LicenseEvent.license_id == lic.id).order_by(LicenseEvent.id)) if e.kind != "distributed"]


def setup(sessions: sessionmaker[Session], code: str, auto_renew: bool = False,
          on_site: bool = True) -> tuple[World, int, int | None]:
    with sessions.begin() as s:
        w = make_world(s)
        lic = give(s, w, code)
        lic.auto_renew = auto_renew
        ws = None
        if on_site and code.startswith("backup"):
            ws = site(s, w, give(s, w, "basic"))
            svc.attach_backup(s, w.partner_id, ws.id, lic.id, NOW, "t")
        elif on_site:
            ws = site(s, w, lic)
        return w, lic.id, ws.id if ws else None


def test_paid_with_auto_renewal_renews_from_its_old_expiry(sessions: sessionmaker[Session]) -> None:
    _, lic_id, site_id = setup(sessions, "pro", auto_renew=True)
    first = add_term(NOW, YEAR)
    assert sweep(sessions, first + timedelta(hours=20)) == 1
    with sessions() as s:
        lic, ws = s.get(License, lic_id), s.get(Website, site_id)
        assert (lic.status, lic.expires_at) == ("active", add_term(first, YEAR))
        assert ws.security_license_id == lic_id
        assert events(s, lic) == [("attached", "test"), ("auto_renewed", ACTOR)]


@pytest.mark.parametrize("code", ["starter", "waf_starter", "pro", "premium"])
def test_paid_without_auto_renewal_expires_and_drops_its_site_to_a_new_basic(
        sessions: sessionmaker[Session], code: str) -> None:
    w, lic_id, site_id = setup(sessions, code)
    as_of = add_term(NOW, YEAR) + timedelta(minutes=1)
    assert sweep(sessions, as_of) == 1
    with sessions() as s:
        lic, ws = s.get(License, lic_id), s.get(Website, site_id)
        basic = s.get(License, ws.security_license_id)
        assert lic.status == "expired" and lic.website_id == site_id
        assert (basic.plan_code, basic.status, basic.expires_at) == ("basic", "active", None)
        assert (basic.customer_id, basic.partner_id, basic.ordered_at) == (w.customer_id, w.partner_id,
                                                                           as_of)
        assert basic.website_id == site_id
        assert events(s, lic)[-1] == ("expired", ACTOR)
        assert events(s, basic) == [("attached", ACTOR)]
        ev = s.scalars(select(LicenseEvent).where(LicenseEvent.license_id == lic_id,
                                                  LicenseEvent.kind == "expired")).one()
        assert ev.details["basic_license_id"] == basic.id and ev.at == as_of


def test_an_unused_paid_license_just_expires(sessions: sessionmaker[Session]) -> None:
    _, lic_id, _ = setup(sessions, "pro", on_site=False)
    sweep(sessions, add_term(NOW, YEAR))
    with sessions() as s:
        assert s.get(License, lic_id).status == "expired"
        assert s.scalar(select(func.count()).select_from(License).where(
            License.plan_code == "basic")) == 0


@pytest.mark.parametrize(("code", "days"), [("pro_trial_30", 30), ("pro_trial_60", 60),
                                            ("premium_trial_30", 30), ("premium_trial_60", 60)])
def test_a_trial_at_its_end_drops_its_site_to_basic(sessions: sessionmaker[Session], code: str,
                                                    days: int) -> None:
    _, lic_id, site_id = setup(sessions, code)
    assert sweep(sessions, NOW + timedelta(days=days - 1)) == 0  # not yet
    assert sweep(sessions, NOW + timedelta(days=days)) == 1
    with sessions() as s:
        lic, ws = s.get(License, lic_id), s.get(Website, site_id)
        assert lic.status == "expired"
        assert s.get(License, ws.security_license_id).plan_code == "basic"
        assert events(s, lic)[-1] == ("trial_ended", ACTOR)


@pytest.mark.parametrize(("code", "paid"), [("starter_paid_trial", "starter"),
                                            ("pro_paid_trial", "pro"),
                                            ("premium_paid_trial", "premium")])
def test_paid_with_trial_converts_in_place_at_day_30(sessions: sessionmaker[Session], code: str,
                                                     paid: str) -> None:
    _, lic_id, site_id = setup(sessions, code)
    trial_end = NOW + timedelta(days=30)
    assert sweep(sessions, trial_end + timedelta(hours=3)) == 1
    with sessions() as s:
        lic, ws = s.get(License, lic_id), s.get(Website, site_id)
        assert (lic.plan_code, lic.status) == (paid, "active")
        assert lic.expires_at == add_term(trial_end, YEAR)
        assert ws.security_license_id == lic_id
        ev = s.scalars(select(LicenseEvent).where(LicenseEvent.license_id == lic_id,
                                                  LicenseEvent.kind == "converted")).one()
        assert (ev.actor, ev.details["from_plan"], ev.details["website_id"]) == (ACTOR, code, site_id)


def test_an_expired_backup_license_stops_that_sites_backups(sessions: sessionmaker[Session]) -> None:
    w, lic_id, site_id = setup(sessions, "backup_small")
    sweep(sessions, add_term(NOW, YEAR))
    with sessions() as s:
        lic, ws = s.get(License, lic_id), s.get(Website, site_id)
        assert lic.status == "expired" and ws.backup_license_id is None
        assert s.get(License, ws.security_license_id).plan_code == "basic"  # security untouched
        assert events(s, lic)[-1] == ("backup_expired", ACTOR)
    with sessions.begin() as s:  # renewing it puts the backups back on
        svc.renew(s, w.partner_id, lic_id, add_term(NOW, YEAR), "t")
    with sessions() as s:
        assert s.get(Website, site_id).backup_license_id == lic_id


def test_a_backup_license_with_auto_renewal_renews(sessions: sessionmaker[Session]) -> None:
    _, lic_id, site_id = setup(sessions, "backup_medium", auto_renew=True)
    sweep(sessions, add_term(NOW, YEAR))
    with sessions() as s:
        assert s.get(License, lic_id).expires_at == add_term(NOW, Term(months=24))
        assert s.get(Website, site_id).backup_license_id == lic_id


def test_basic_never_expires_and_nothing_is_due_early(sessions: sessionmaker[Session]) -> None:
    setup(sessions, "basic")
    setup(sessions, "pro")
    assert sweep(sessions, add_term(NOW, YEAR) - timedelta(seconds=1)) == 0
    assert sweep(sessions, NOW + timedelta(days=3650)) == 1  # only the Pro license


def test_renewing_after_the_drop_restores_the_license_on_its_site(sessions: sessionmaker[Session]) -> None:
    w, lic_id, site_id = setup(sessions, "pro")
    as_of = add_term(NOW, YEAR)
    sweep(sessions, as_of)
    with sessions.begin() as s:
        basic_id = s.get(Website, site_id).security_license_id
        svc.renew(s, w.partner_id, lic_id, as_of + timedelta(days=2), "alice@partner")
    with sessions() as s:
        assert s.get(Website, site_id).security_license_id == lic_id
        assert s.get(License, basic_id).status == "upgraded"


def test_a_removed_website_gets_no_basic_license(sessions: sessionmaker[Session]) -> None:
    _, lic_id, site_id = setup(sessions, "pro")
    with sessions.begin() as s:
        s.get(Website, site_id).removed_at = NOW
    sweep(sessions, add_term(NOW, YEAR))
    with sessions() as s:
        assert s.get(License, lic_id).status == "expired"
        assert s.get(Website, site_id).security_license_id == lic_id


def test_auto_renewal_more_than_a_term_overdue_renews_from_now(sessions: sessionmaker[Session]) -> None:
    _, lic_id, _ = setup(sessions, "pro", auto_renew=True, on_site=False)
    late = NOW + timedelta(days=800)
    sweep(sessions, late)
    with sessions() as s:
        assert s.get(License, lic_id).expires_at == add_term(late, YEAR)


def test_keyset_pages_with_equal_expiries_handle_each_license_once(
        sessions: sessionmaker[Session]) -> None:
    statements: list[tuple[str, tuple[object, ...]]] = []
    with sessions.begin() as s:
        w = make_world(s)
        ids = [give(s, w, "pro").id for _ in range(7)] + [give(s, w, "pro_trial_30").id]
        for lic_id in ids[:4]:
            site(s, w, s.get(License, lic_id))
    engine = sessions.kw["bind"]
    listener = lambda *a: statements.append((a[2], tuple(a[3] or ())))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert sweep(sessions, add_term(NOW, YEAR), chunk=2) == 8
        assert sweep(sessions, add_term(NOW, YEAR), chunk=2) == 0  # run again: nothing left
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    # Keyset, not OFFSET (SQLAlchemy's SQLite dialect always writes "OFFSET ?" with 0).
    offsets = [p[-1] for q, p in statements if "OFFSET" in q.upper()]
    assert set(offsets) <= {0}
    with sessions() as s:
        for lic_id in ids:
            kinds = [k for k, _ in events(s, s.get(License, lic_id))]
            assert sum(k in ("expired", "trial_ended") for k in kinds) == 1, (lic_id, kinds)


def test_two_sweeps_at_once_handle_each_license_exactly_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        w = make_world(s)
        for n in range(40):
            lic = give(s, w, ("pro", "pro_trial_30", "pro_paid_trial", "starter")[n % 4])
            lic.auto_renew = n % 8 == 3
            site(s, w, lic)
    as_of = add_term(NOW, YEAR)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            sweep(sessions, as_of, chunk=4, actor=f"workflow:{name}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"sweep-{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with sessions() as s:
        handled = s.execute(select(LicenseEvent.license_id, func.count()).where(
            LicenseEvent.kind.in_(expiry.OUTCOME_OF_EVENT), LicenseEvent.actor.like("workflow:%"))
            .group_by(LicenseEvent.license_id)).all()
        assert len(handled) == 40 and {n for _, n in handled} == {1}
        assert s.scalar(select(func.count()).select_from(License).where(
            License.plan_code == "basic")) == 25  # 15 expired paid + 10 ended trials


def test_changes_since_counts_outcomes_and_names_the_sites_to_reapply(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        floor = expiry.max_event_id(s)
    ids = {}
    for code, auto in (("pro", False), ("pro", True), ("pro_trial_30", False),
                       ("pro_paid_trial", False), ("backup_small", False)):
        ids[(code, auto)] = setup(sessions, code, auto_renew=auto)[2]
    with sessions.begin() as s:
        for site_id in ids.values():
            s.get(Website, site_id).origin_addresses = ["192.0.2.10"]
        s.get(Website, ids[("pro_trial_30", False)]).origin_addresses = []  # not on the edge yet
    sweep(sessions, add_term(NOW, YEAR))
    with sessions() as s:
        ch = expiry.changes_since(s, floor, ACTOR)
        assert ch.counts == {"expire_drop_to_basic": 1, "renew": 1, "end_trial": 1, "convert": 1,
                             "expire_backup": 1}
        assert ch.website_ids == sorted([ids[("pro", False)], ids[("pro_trial_30", False)],
                                         ids[("pro_paid_trial", False)]])
        assert expiry.changes_since(s, floor, "workflow:someone-else").counts == {}
        on_edge = expiry.sites_on_edge(s, ch.website_ids)
        assert [(x.website_id, x.plan_code, x.origins) for x in on_edge] == [
            (ids[("pro", False)], "basic", ["192.0.2.10"]),
            (ids[("pro_paid_trial", False)], "pro", ["192.0.2.10"])]


def test_a_new_basic_license_never_reuses_a_deleted_licenses_id(sessions: sessionmaker[Session]) -> None:
    """License ids name workflows (license-upgrade-<id>): the bulk insert keeps AUTOINCREMENT's
    promise on SQLite and uses the sequence on PostgreSQL."""
    _, lic_id, site_id = setup(sessions, "pro")
    with sessions.begin() as s:
        w = make_world(s)
        spare = give(s, w, "starter")
        spare_id = spare.id
        s.execute(LicenseEvent.__table__.delete().where(LicenseEvent.license_id == spare_id))
        s.delete(spare)
    sweep(sessions, add_term(NOW, YEAR))
    with sessions() as s:
        assert s.get(Website, site_id).security_license_id > spare_id
