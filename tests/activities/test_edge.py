"""EdgeActivities on two real Caddy edges: sites with their plan's WAF, certificates by @id."""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.db import CertificateStore, StoreCertificateInput, key_context
from activities.edge import (
    ApplySitesInput,
    EdgeActivities,
    EdgeSite,
    InstallCertificateInput,
    RemoveSiteInput,
    VerifyCertificateInput,
    served_leaf_sha256,
)
from schema.db import make_session_factory
from tests import factories
from tests.certs import secret_box, self_signed
from tests.fixtures.database import empty_tables, engine_for
from tests.fixtures.edges import EdgeStack


@pytest.fixture
def sqlite_sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    engine = engine_for(sqlite_url)
    yield make_session_factory(engine)
    empty_tables(engine)


@pytest.fixture
async def edge_acts(edge_stack: EdgeStack, sqlite_sessions: sessionmaker[Session]):
    async with httpx.AsyncClient() as http:
        yield EdgeActivities(http, edge_stack.nodes, CertificateStore(sqlite_sessions, secret_box()),
                             edge_stack.origin.port)


def domain() -> str:
    return f"w{uuid.uuid4().hex[:10]}.test"


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]
    text: str


def get(edge_port: int, host: str, target: str) -> Answer:
    """A plain-HTTP request through an edge with the path sent exactly as given (like
    ``curl --path-as-is``: httpx would fold the ``../``)."""
    conn = http.client.HTTPConnection("127.0.0.1", edge_port, timeout=10)
    try:
        conn.request("GET", target, headers={"Host": host})
        r = conn.getresponse()
        return Answer(r.status, dict(r.getheaders()), r.read().decode(errors="replace"))
    finally:
        conn.close()


ATTACKS = {
    "sql-injection": "/products?id=1%27%20UNION%20SELECT%20password%20FROM%20users--",
    "path-traversal": "/static/../../etc/passwd",
}


async def test_waf_plan_blocks_attacks_basic_plan_passes_them(edge_acts: EdgeActivities,
                                                             edge_stack: EdgeStack) -> None:
    waf, basic = domain(), domain()
    env = ActivityEnvironment()
    out = await env.run(edge_acts.apply_sites, ApplySitesInput([
        EdgeSite(waf, "pro", ["127.0.0.1"]), EdgeSite(basic, "basic", ["127.0.0.1"])]))
    assert out.added == 4 and out.replaced == 0  # two sites on two edges
    for edge in edge_stack.edges:
        for name, target in ATTACKS.items():
            blocked = get(edge.http_port, waf, target)
            assert blocked.status_code == 403, (edge.name, name, blocked.text)
            assert blocked.headers["X-Edgeward-Blocked"] == name
            passed = get(edge.http_port, f"www.{basic}", target)
            assert passed.status_code == 200, (edge.name, name)
            assert f"Welcome to www.{basic}" in passed.text  # the origin answered
        ok = get(edge.http_port, waf, "/products?id=42&q=union+station")
        assert ok.status_code == 200 and f"Welcome to {waf}" in ok.text
        assert ok.headers["X-Edgeward-Edge"] == edge.name


async def test_apply_sites_replaces_and_is_idempotent(edge_acts: EdgeActivities,
                                                      edge_stack: EdgeStack) -> None:
    d = domain()
    env = ActivityEnvironment()
    await env.run(edge_acts.apply_sites, ApplySitesInput([EdgeSite(d, "basic", ["127.0.0.1"])]))
    assert get(edge_stack.edges[0].http_port, d, ATTACKS["sql-injection"]).status_code == 200
    # The plan changes to a WAF plan: the same call replaces the route, on every edge.
    again = await env.run(edge_acts.apply_sites,
                          ApplySitesInput([EdgeSite(d, "waf_starter", ["127.0.0.1"])]))
    assert again.added == 0 and again.replaced == 2
    twice = await env.run(edge_acts.apply_sites,
                          ApplySitesInput([EdgeSite(d, "waf_starter", ["127.0.0.1"])]))
    assert twice.added == 0
    for edge in edge_stack.edges:
        assert get(edge.http_port, d, ATTACKS["sql-injection"]).status_code == 403
        routes = httpx.get(f"{edge.admin_url}/config/apps/http/servers/edge/routes").json()
        assert [r["@id"] for r in routes].count(f"site-{d}") == 1
    removed = await env.run(edge_acts.remove_site, RemoveSiteInput(d))
    assert sorted(removed) == sorted(e.name for e in edge_stack.edges)
    assert get(edge_stack.edges[1].http_port, d, "/").status_code != 200
    assert await env.run(edge_acts.remove_site, RemoveSiteInput(d)) == []


async def test_bad_site_is_refused_with_reason(edge_acts: EdgeActivities) -> None:
    from temporalio.exceptions import ApplicationError

    env = ActivityEnvironment()
    with pytest.raises(ApplicationError, match="unknown plan 'gold'") as err:
        await env.run(edge_acts.apply_sites, ApplySitesInput([EdgeSite(domain(), "gold", ["1.2.3.4"])]))
    assert err.value.non_retryable
    with pytest.raises(ApplicationError, match="no origin"):
        await env.run(edge_acts.apply_sites, ApplySitesInput([EdgeSite(domain(), "basic", [])]))


async def test_certificate_install_replace_and_verify(edge_acts: EdgeActivities, edge_stack: EdgeStack,
                                                      sqlite_sessions: sessionmaker[Session]) -> None:
    d = domain()
    with sqlite_sessions.begin() as s:
        world = factories.make_world(s)
        site_id = factories.site(s, world, factories.give(s, world, "pro"), d).id
    store = CertificateStore(sqlite_sessions, secret_box())
    env = ActivityEnvironment()
    await env.run(edge_acts.apply_sites, ApplySitesInput([EdgeSite(d, "pro", ["127.0.0.1"])]))
    for _ in range(2):  # a renewal: the second certificate replaces the first by its @id
        chain, key = self_signed(d)
        info = store.store(StoreCertificateInput(site_id, chain, secret_box().seal(
            key.encode(), key_context(site_id))))
        for edge in edge_stack.nodes:
            first = await env.run(edge_acts.install_certificate,
                                  InstallCertificateInput(edge.name, d, info.certificate_id))
            assert first.changed
            second = await env.run(edge_acts.install_certificate,
                                   InstallCertificateInput(edge.name, d, info.certificate_id))
            assert not second.changed
            ok = await env.run(edge_acts.verify_certificate,
                               VerifyCertificateInput(edge.name, d, info.sha256))
            assert ok.served_sha256 == info.sha256
            assert await served_leaf_sha256("127.0.0.1", edge.https_port, f"www.{d}") == info.sha256
    # An unknown name gets no certificate (a TLS alert), as a visitor would see.
    assert await served_leaf_sha256("127.0.0.1", edge_stack.edges[0].https_port, domain()) == ""
