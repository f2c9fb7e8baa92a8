"""`make up`'s edge sync: provisioned websites and their certificates back on empty edges."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from activities.db import CertificateStore, StoreCertificateInput, key_context
from activities.edge import served_leaf_sha256
from schema import licenses
from schema.models import utcnow
from schema.settings import Settings
from starter.stack.site_components import resync_edges
from tests.certs import secret_box, self_signed
from tests.fixtures.edges import EdgeStack
from tests.site_helpers import new_customer


async def test_resync_loads_completed_sites_and_certificates(
        tmp_path: Path, pg_url: str, site_sessions: sessionmaker[Session],
        edge_stack: EdgeStack) -> None:
    settings = Settings(environment="test", run_dir=tmp_path, database_url=pg_url,
                        edge_admin_ports=[e.admin_port for e in edge_stack.edges],
                        edge_https_ports=[e.https_port for e in edge_stack.edges],
                        origin_port=edge_stack.origin.port)
    done, failed = f"s{uuid.uuid4().hex[:8]}.test", f"f{uuid.uuid4().hex[:8]}.test"
    cust, other = new_customer(site_sessions, "pro"), new_customer(site_sessions, "basic")
    with site_sessions.begin() as s:
        ids = []
        for c, d, step in ((cust, done, "Completed"), (other, failed, "Failed")):
            site = licenses.add_website(s, c.partner_id, licenses.NewWebsite(
                c.customer_id, d, d, "import_ssl", c.license_id), utcnow(), "t")
            site.step, site.origin_addresses = step, ["127.0.0.1"]
            ids.append(site.id)
    chain, key = self_signed(done)
    cert = CertificateStore(site_sessions, secret_box()).store(StoreCertificateInput(
        ids[0], chain, secret_box().seal(key.encode(), key_context(ids[0]))))
    for _ in range(2):  # idempotent: a second `make up` changes nothing
        assert await resync_edges(settings) >= 1
    for edge in edge_stack.edges:
        page = httpx.get(f"http://127.0.0.1:{edge.http_port}/", headers={"Host": f"www.{done}"})
        assert f"Welcome to www.{done}" in page.text
        assert page.headers["X-Edgeward-Plan"] == "pro"
        assert httpx.get(f"http://127.0.0.1:{edge.http_port}/",
                         headers={"Host": failed}).status_code == 404  # a failed site is not served
        assert await served_leaf_sha256("127.0.0.1", edge.https_port, done) == cert.sha256
