"""License actions (upgrade, renew, auto-renewal, backup) on the real Temporal dev server, SQLite and
PostgreSQL: the database change and its clear errors, and the EdgeReapply workflow that follows a
plan change (a fake ``edge.apply_sites`` here; test_license_edges.py drives real Caddy edges)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from schema import licenses as svc
from schema.models import License, LicenseEvent, Website
from schema.plans import Term, UnknownPlan, add_term
from schema.settings import Settings, get_settings
from starter import license_actions as la
from starter.services import Services
from starter.temporal_client import with_codec
from tests.factories import NOW, make_world
from tests.workflows.license_helpers import FakeEdge, license_worker, licensed_site
from workflows.edge_reapply import EdgeReapplyResult


@pytest.fixture
async def services(temporal_env: WorkflowEnvironment, sessions: sessionmaker[Session],
                   task_queue: str) -> AsyncIterator[Services]:
    client = with_codec(temporal_env.client, get_settings())
    yield Services(sessions, client, Settings(temporal_task_queue=task_queue))


async def reapply_result(services: Services, workflow_id: str) -> EdgeReapplyResult:
    return await services.temporal.get_workflow_handle(
        workflow_id, result_type=EdgeReapplyResult).result()


async def test_upgrading_a_sites_license_reapplies_its_edge(services: Services) -> None:
    sessions = services.sessions
    with sessions.begin() as s:
        w = make_world(s, {"waf_starter": 1})
        basic_id, site_id, domain = licensed_site(s, w, "basic", NOW)
    edge = FakeEdge()
    async with license_worker(services.temporal, services.settings.temporal_task_queue, sessions, edge):
        new_id = await la.upgrade_license(services, w.partner_id, "alice@partner", basic_id,
                                          "waf_starter", now=NOW)
        out = await reapply_result(services, f"license-upgrade-{basic_id}")
    assert (out.sites, out.batches, out.rounds) == (1, 1, 1)
    assert edge.last_plan() == {domain: "waf_starter"}
    with sessions() as s:
        assert s.get(Website, site_id).security_license_id == new_id
        assert s.get(License, basic_id).status == "upgraded"
        actors = s.scalars(select(LicenseEvent.actor).where(LicenseEvent.license_id == basic_id,
                                                            LicenseEvent.kind == "upgraded")).all()
        assert actors == ["alice@partner"]


@pytest.mark.parametrize(("existing", "target", "error", "reason"), [
    ("pro", "starter", svc.NotEligible, "cannot be upgraded"),
    ("pro", "premium", svc.NoLicenseAvailable, "no unused Premium license"),
    ("pro", "gold", UnknownPlan, "unknown plan 'gold'"),
])
async def test_bad_upgrades_fail_clearly_and_change_nothing(
        services: Services, existing: str, target: str, error: type[Exception], reason: str) -> None:
    with services.sessions.begin() as s:
        w = make_world(s)
        lic_id, site_id, _ = licensed_site(s, w, existing, NOW)
    with pytest.raises(error, match=reason):
        await la.upgrade_license(services, w.partner_id, "t", lic_id, target, now=NOW)
    with services.sessions() as s:
        assert s.get(License, lic_id).status == "active"
        assert s.get(Website, site_id).security_license_id == lic_id
    with pytest.raises(RPCError):  # and no edge workflow was started
        await services.temporal.get_workflow_handle(f"license-upgrade-{lic_id}").describe()


async def test_an_expired_or_used_license_is_refused(services: Services) -> None:
    with services.sessions.begin() as s:
        w = make_world(s)
        old_id, site_id, _ = licensed_site(s, w, "pro", NOW)
        s.get(License, old_id).status = "expired"
        backup_id, _, _ = licensed_site(s, w, "backup_small", NOW)  # already on a site
        _, other_site, _ = licensed_site(s, w, "basic", NOW)
    with pytest.raises(svc.LicenseExpired, match="only an active license can be upgraded"):
        await la.upgrade_license(services, w.partner_id, "t", old_id, "premium", now=NOW)
    with pytest.raises(svc.LicenseInUse, match="already on a website"):
        await la.attach_backup_license(services, w.partner_id, "t", other_site or 0, backup_id,
                                       now=NOW)
    with pytest.raises(svc.NotFound):  # another partner's license is simply not found
        await la.renew_license(services, w.partner_id + 1000, "t", old_id, now=NOW)


async def test_renewing_a_dropped_license_restores_its_site_on_the_edge(services: Services) -> None:
    sessions = services.sessions
    with sessions.begin() as s:
        w = make_world(s)
        pro_id, site_id, domain = licensed_site(s, w, "pro", NOW)
        basic_id, _, _ = licensed_site(s, w, "basic", NOW, on_site=False)
        # As the sweep leaves it: Expired, and the site on a Basic license.
        s.get(Website, site_id).security_license_id = basic_id
        s.get(License, pro_id).status = "expired"
    later = NOW + timedelta(days=400)
    edge = FakeEdge()
    async with license_worker(services.temporal, services.settings.temporal_task_queue, sessions, edge):
        assert await la.renew_license(services, w.partner_id, "bob@partner", pro_id, now=later) == pro_id
        wid = f"license-restore-{pro_id}-{add_term(later, Term(months=12)):%Y%m%dT%H%M%S}"
        await reapply_result(services, wid)
        # Renewing an active license changes no plan: no edge work.
        await la.renew_license(services, w.partner_id, "bob@partner", pro_id, now=later)
    assert edge.last_plan() == {domain: "pro"} and len(edge.calls) == 1
    with sessions() as s:
        assert s.get(Website, site_id).security_license_id == pro_id
        assert s.get(License, pro_id).expires_at == add_term(later, Term(months=24))


async def test_auto_renewal_backup_and_distribution_are_database_changes(services: Services) -> None:
    with services.sessions.begin() as s:
        w = make_world(s, {"backup_medium": 1})
        pro_id, site_id, _ = licensed_site(s, w, "pro", NOW)
        trial_id, _, _ = licensed_site(s, w, "pro_trial_30", NOW, on_site=False)
    assert await la.set_auto_renew(services, w.partner_id, "t", pro_id, True, now=NOW) == pro_id
    with pytest.raises(svc.NotEligible, match="auto-renewal applies to paid"):
        await la.set_auto_renew(services, w.partner_id, "t", trial_id, True, now=NOW)
    backup_id = await la.distribute_license(services, w.partner_id, "t", w.customer_id,
                                            "backup_medium", now=NOW)
    with pytest.raises(svc.NoLicenseAvailable, match="no unused Backup Medium"):
        await la.distribute_license(services, w.partner_id, "t", w.customer_id, "backup_medium",
                                    now=NOW)
    with pytest.raises(svc.WrongPlanKind, match="choose a backup license"):
        await la.attach_backup_license(services, w.partner_id, "t", site_id, trial_id, now=NOW)
    assert await la.attach_backup_license(services, w.partner_id, "t", site_id, backup_id,
                                          now=NOW) == backup_id
    with services.sessions() as s:
        assert s.get(License, pro_id).auto_renew is True
        assert s.get(Website, site_id).backup_license_id == backup_id


async def test_an_edge_update_that_cannot_start_says_how_to_finish(services: Services) -> None:
    with services.sessions.begin() as s:
        w = make_world(s, {"pro": 1})
        basic_id, site_id, _ = licensed_site(s, w, "basic", NOW)
    # A workflow of that id exists and is running, so nothing starts twice: fine. A refusing
    # Temporal (here: a namespace that does not exist) is reported with the command to run.
    bad = Services(services.sessions, services.temporal, Settings(temporal_task_queue="q"))
    bad.temporal = type(services.temporal)(**{**services.temporal.config(), "namespace": "nowhere"})
    with pytest.raises(la.EdgeUpdateNotStarted, match=f"licenses reapply --website {site_id}"):
        await la.upgrade_license(bad, w.partner_id, "t", basic_id, "pro", now=NOW)
    with services.sessions() as s:  # the database change itself is done
        assert s.get(License, basic_id).status == "upgraded"


async def test_reapply_by_hand_and_removed_sites_are_skipped(services: Services) -> None:
    sessions = services.sessions
    with sessions.begin() as s:
        w = make_world(s)
        _, live, domain = licensed_site(s, w, "premium", NOW)
        _, gone, _ = licensed_site(s, w, "pro", NOW)
        s.get(Website, gone).removed_at = NOW
    edge = FakeEdge()
    async with license_worker(services.temporal, services.settings.temporal_task_queue, sessions, edge):
        wid = await la.reapply_edges(services, [live, gone], "test")
        out = await reapply_result(services, wid)
        desc = await services.temporal.get_workflow_handle(wid).describe()
    assert desc.status == WorkflowExecutionStatus.COMPLETED
    assert out.sites == 1 and edge.last_plan() == {domain: "premium"}
