"""The invariants the database itself holds, on SQLite and PostgreSQL, and the migrations."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from schema import licenses as svc
from schema.models import Base, Website
from tests.factories import NOW, give, make_world, site
from tests.fixtures.database import empty_tables, engine_for


def _raw_site(world_partner: int, customer: int, license_id: int, domain: str,
              slot: str = "security") -> Website:
    return Website(partner_id=world_partner, customer_id=customer, domain_ascii=domain,
                   domain_unicode=domain, dns_mode="none", security_license_id=license_id,
                   security_slot=slot)


def test_migrations_create_exactly_the_models(db_url: str) -> None:
    with engine_for(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_a_license_cannot_be_the_security_license_of_two_sites(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        w = make_world(s)
        lic = give(s, w, "pro")
        s.add(_raw_site(w.partner_id, w.customer_id, lic.id, "a.test"))
        s.flush()
        s.add(_raw_site(w.partner_id, w.customer_id, lic.id, "b.test"))
        with pytest.raises(IntegrityError):
            s.flush()


def test_a_backup_license_cannot_be_a_security_license(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        w = make_world(s)
        backup = give(s, w, "backup_small")
        s.add(_raw_site(w.partner_id, w.customer_id, backup.id, "a.test"))
        with pytest.raises(IntegrityError):
            s.flush()


def test_a_website_needs_a_security_license(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        w = make_world(s)
        s.add(Website(partner_id=w.partner_id, customer_id=w.customer_id, domain_ascii="a.test",
                      domain_unicode="a.test", dns_mode="none"))
        with pytest.raises(IntegrityError):
            s.flush()


def test_a_security_license_cannot_be_a_backup_license(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        w = make_world(s)
        ws = site(s, w, give(s, w, "basic"))
        pro = give(s, w, "pro")
        with pytest.raises(IntegrityError):
            s.execute(update(Website).where(Website.id == ws.id).values(backup_license_id=pro.id))


def test_a_domain_is_unique_among_active_websites(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        w = make_world(s)
        first = site(s, w, give(s, w, "basic"), "shop.test")
        with pytest.raises(svc.LicenseInUse, match="domain shop.test was just taken"):
            site(s, w, give(s, w, "basic"), "shop.test")
        first.removed_at = NOW
        s.flush()
        again = site(s, w, give(s, w, "basic"), "shop.test")
        assert again.id != first.id


@pytest.mark.postgres
def test_two_sessions_attaching_one_license_exactly_one_wins(pg_url: str) -> None:
    """Both sessions see the license unused; the unique constraint lets only one commit."""
    sessions = sessionmaker(engine_for(pg_url), expire_on_commit=False)
    with sessions.begin() as s:
        w = make_world(s)
        lic_id = give(s, w, "pro").id
    barrier = threading.Barrier(2, timeout=20)
    results: dict[str, str] = {}

    def attach(domain: str) -> None:
        with sessions() as s:
            lic = svc.get_license(s, w.partner_id, lic_id)
            assert svc.website_of(s, lic) is None
            barrier.wait()  # both checked "unused" before either inserts
            try:
                svc.add_website(s, w.partner_id, svc.NewWebsite(
                    w.customer_id, domain, domain, "none", lic_id), NOW, domain)
                s.commit()
                results[domain] = "won"
            except svc.LicenseInUse as exc:
                s.rollback()
                results[domain] = str(exc)

    threads = [threading.Thread(target=attach, args=(d,)) for d in ("one.test", "two.test")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results.values())[-1] == "won"
    loser = [v for v in results.values() if v != "won"]
    assert len(loser) == 1 and "was just taken by another website" in loser[0]
    with sessions() as s:
        assert len(s.query(Website).filter(Website.security_license_id == lic_id).all()) == 1
    empty_tables(engine_for(pg_url))
