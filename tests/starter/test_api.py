"""The REST API against the real app (uvicorn), on SQLite and PostgreSQL: what a partner's
system sees, including a 4xx with a reason for each bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from schema.models import ApiKey, Customer, Website, utcnow
from tests.fixtures.portal import PortalServer
from tests.starter.tenants import Tenant, make_tenant


@pytest.fixture
def a(portal: PortalServer, sessions: sessionmaker[Session]) -> Tenant:
    return make_tenant(sessions, "Alpha", with_cert=True)


@pytest.fixture
def api(portal: PortalServer, a: Tenant) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{portal.base_url}/api/v1", headers=a.auth, timeout=30) as c:
        yield c


def test_without_a_key_or_with_a_wrong_or_revoked_key_is_401_with_the_reason(
        portal: PortalServer, a: Tenant, sessions: sessionmaker[Session]) -> None:
    with httpx.Client(base_url=f"{portal.base_url}/api/v1", timeout=30) as c:
        r = c.get("/customers")
        assert r.status_code == 401 and "API key" in r.json()["detail"]
        r = c.get("/customers", headers={"Authorization": f"Bearer {a.api_key[:-2]}xx"})
        assert r.status_code == 401 and "unknown or revoked" in r.json()["detail"]
        assert c.get("/customers", headers={"X-API-Key": a.api_key}).status_code == 200
        with sessions.begin() as s:
            for k in s.scalars(select(ApiKey).where(ApiKey.partner_id == a.partner_id)):
                k.revoked_at = utcnow()
        assert c.get("/customers", headers=a.auth).status_code == 401


def test_create_show_and_update_a_customer(api: httpx.Client, a: Tenant) -> None:
    r = api.post("/customers", json={"name": "Dana Lee", "email": "dana@shop.test", "company": "Shop",
                                     "phone": "+1 555 0199", "address": "9 Elm St"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = api.post("/customers", json={"name": "Dana Again", "email": "DANA@shop.test"})
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    r = api.patch(f"/customers/{cid}", json={"phone": "+1 555 0200", "address": "10 Elm St"})
    assert r.status_code == 200 and r.json()["phone"] == "+1 555 0200"
    shown = api.get(f"/customers/{cid}").json()
    assert (shown["name"], shown["email"], shown["address"]) == ("Dana Lee", "dana@shop.test", "10 Elm St")
    assert shown["licenses"] == [] and shown["websites"] == []
    r = api.patch(f"/customers/{cid}", json={"email": "no-at-sign"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    tag = a.email.split("@")[1].removesuffix(".example")
    r = api.patch(f"/customers/{cid}", json={"email": f"one@{tag}.test"})
    assert r.status_code == 409 and "already exists" in r.json()["detail"]


def test_customer_details_hold_contact_licenses_and_websites(api: httpx.Client, a: Tenant) -> None:
    d = api.get(f"/customers/{a.customer_id}").json()
    assert d["company"] == "Alpha Ltd" and d["phone"] == "+1 555 0100"
    by_id = {lic["id"]: lic for lic in d["licenses"]}
    assert by_id[a.pro_id]["type"] == "Pro" and by_id[a.pro_id]["eligible_upgrades"] == ["premium"]
    assert by_id[a.site_license_id]["site_name"].startswith("café.")
    assert by_id[a.site_license_id]["site_provisioning"] == "Pending"
    [site] = d["websites"]
    assert site["domain_ascii"].startswith("xn--caf-dma.") and site["step"] == "Pending"
    assert [r["type"] for r in site["records_to_create"]] == ["A", "CNAME"]
    assert site["certificate"]["issuer"] == "CN=Pebble Intermediate"


def test_customer_search_and_keyset_pages(api: httpx.Client) -> None:
    for n in range(7):
        assert api.post("/customers", json={"name": f"Zed {n}", "email": f"zed{n}@z.test"}).status_code == 201
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"q": "zed", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/customers", params=params).json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Zed {n}" for n in range(7)]
    assert api.get("/customers", params={"q": "%"}).json()["items"] == []  # a literal, not a wildcard
    r = api.get("/customers", params={"cursor": "not-a-cursor"})
    assert r.status_code == 400 and "cursor" in r.json()["detail"]


def test_distribute_from_the_pool_then_an_empty_pool_says_so(api: httpx.Client, a: Tenant) -> None:
    pool = {p["code"]: p["pool_available"] for p in api.get("/plans").json()}
    assert pool["premium"] == 1
    r = api.post(f"/customers/{a.other_customer_id}/licenses", json={"plan_code": "premium"})
    assert r.status_code == 201 and r.json()["type"] == "Premium" and r.json()["ordered_at"]
    r = api.post(f"/customers/{a.other_customer_id}/licenses", json={"plan_code": "premium"})
    assert r.status_code == 409 and "no unused Premium license" in r.json()["detail"]
    r = api.post(f"/customers/{a.other_customer_id}/licenses", json={"plan_code": "gold"})
    assert r.status_code == 422 and "unknown plan 'gold'" in r.json()["detail"]
    mine = api.get("/licenses", params={"customer_id": a.other_customer_id}).json()
    assert [lic["type"] for lic in mine] == ["Premium"]
    assert all(lic["customer_id"] is None for lic in api.get("/licenses", params={"pool": True}).json())


def test_a_license_lists_its_eligible_upgrades_with_what_is_available(api: httpx.Client, a: Tenant) -> None:
    d = api.get(f"/licenses/{a.basic_id}").json()
    assert [t["name"] for t in d["upgrade_targets"]] == ["Starter", "WAF Starter", "Pro", "Premium"]
    assert {t["code"]: t["available"] for t in d["upgrade_targets"]} == {
        "starter": 1, "waf_starter": 0, "pro": 3, "premium": 1}  # Pro: one unused of the customer's + 2


def test_backup_settings_need_a_backup_license(api: httpx.Client, a: Tenant) -> None:
    r = api.put(f"/websites/{a.website_id}/backup-settings", json={"frequency": "weekly"})
    assert r.status_code == 409 and "no backup license" in r.json()["detail"]
    r = api.put(f"/websites/{a.website_id}/backup-settings", json={"hour": 25})
    assert r.status_code == 422 and "hour" in r.json()["detail"]


def test_csv_report_of_one_customer(api: httpx.Client, a: Tenant, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        s.get(Customer, a.customer_id).email = "=HYPERLINK(1)@evil.test"  # type: ignore[union-attr]
        s.get(Website, a.website_id).step = "\t-1+2"  # type: ignore[union-attr]
    r = api.get(f"/customers/{a.customer_id}/report.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert list(rows[0]) == ["Customer Email", "Type", "Site Name", "Domain (ASCII)", "Site Provisioning",
                             "Order Date", "Expiration Date", "Auto Renewal", "Status"]
    assert len(rows) == 4 and {row["Customer Email"] for row in rows} == {"'=HYPERLINK(1)@evil.test"}
    [on_site] = [row for row in rows if row["Site Name"]]
    assert on_site["Site Name"].startswith("café.") and on_site["Domain (ASCII)"].startswith("xn--caf-dma.")
    assert on_site["Site Provisioning"] == "'\t-1+2" and on_site["Expiration Date"] == ""
    pro = next(row for row in rows if row["Type"] == "Pro")
    assert pro["Order Date"].endswith("Z") and pro["Expiration Date"][:4].isdigit()
    assert pro["Auto Renewal"] == "Off" and pro["Status"] == "Active"


def test_csv_neutralises_every_formula_prefix(api: httpx.Client, a: Tenant,
                                             sessions: sessionmaker[Session]) -> None:
    """A spreadsheet must read each of = + - @ tab CR at a cell's start as text."""
    for prefix in ("=", "+", "-", "@", "\t", "\r"):
        with sessions.begin() as s:
            s.get(Website, a.website_id).step = f"{prefix}SUM(A1)"  # type: ignore[union-attr]
        rows = list(csv.DictReader(io.StringIO(
            api.get(f"/customers/{a.customer_id}/report.csv").content.decode("utf-8-sig"), newline="")))
        [on_site] = [row for row in rows if row["Site Name"]]
        assert on_site["Site Provisioning"] == f"'{prefix}SUM(A1)", repr(prefix)


def test_partner_csv_report_covers_every_customer_and_no_other_partner(
        api: httpx.Client, a: Tenant, sessions: sessionmaker[Session]) -> None:
    make_tenant(sessions, "Beta")
    api.post(f"/customers/{a.other_customer_id}/licenses", json={"plan_code": "starter"})
    rows = list(csv.DictReader(io.StringIO(api.get("/report.csv").content.decode("utf-8-sig"))))
    tag = a.email.split("@")[1].removesuffix(".example")
    assert {row["Customer Email"] for row in rows} == {f"one@{tag}.test", f"two@{tag}.test"}
    assert len(rows) == 5


def test_bad_input_answers_4xx_with_a_reason(api: httpx.Client, a: Tenant) -> None:
    cases = [
        ("post", "/customers", {"name": "", "email": "x@y.test"}, 422, "name"),
        ("post", "/customers", {"name": "N", "email": "not-an-email"}, 422, "email"),
        ("post", "/customers", {"name": "N\x00", "email": "n@y.test"}, 422, "NUL"),
        ("post", "/customers", {"name": "N", "email": "n@y.test", "role": "admin"}, 422, "role"),
        ("get", "/customers/0", None, 422, "customer_id"),
        ("get", "/customers/99999999999", None, 422, "customer_id"),
        ("post", f"/customers/{a.customer_id}/licenses", {}, 422, "plan_code"),
        ("put", f"/licenses/{a.pro_id}/auto-renew", {"enabled": "maybe"}, 422, "enabled"),
        ("post", "/websites", {"customer_id": a.customer_id, "domain": "x.test", "license_id": a.basic_id,
                               "dns_mode": "magic"}, 422, "dns_mode"),
        ("post", "/websites", {"customer_id": a.customer_id, "domain": "x.test", "license_id": a.basic_id,
                               "dns_mode": "import", "origin": "10.0.0.1"}, 422, "origin"),
        ("post", f"/websites/{a.website_id}/backup-license", {"license_id": "x"}, 422, "license_id"),
        ("get", "/licenses", {"plan_code": "GOLD"}, 422, "plan_code"),
    ]
    for method, path, body, status, word in cases:
        kwargs = {"params": body} if method == "get" else {"json": body}
        r = api.request(method.upper(), path, **kwargs)  # type: ignore[arg-type]
        assert r.status_code == status, (path, body, r.text)
        assert word in r.json()["detail"], (path, r.json())


def test_openapi_document_describes_the_api(portal: PortalServer) -> None:
    doc = httpx.get(f"{portal.base_url}/api/v1/openapi.json", timeout=30).json()
    assert doc["info"]["title"] == "Edgeward partner API"
    assert {"/api/v1/customers", "/api/v1/websites", "/api/v1/report.csv",
            "/api/v1/licenses/{license_id}/upgrade"} <= set(doc["paths"])
    assert not any(p.startswith("/customers") for p in doc["paths"])  # the portal is not in it


def test_codec_endpoint_encodes_and_decodes_payloads_for_the_temporal_ui(portal: PortalServer) -> None:
    import base64

    plain = {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
             "data": base64.b64encode(b'{"domain": "caf\\u00e9.test"}').decode()}
    base = f"{portal.base_url}/api/v1/codec"
    sealed = httpx.post(f"{base}/encode", json={"payloads": [plain]}, timeout=30).json()["payloads"][0]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
    assert b"caf" not in base64.b64decode(sealed["data"])
    opened = httpx.post(f"{base}/decode", json={"payloads": [sealed]}, timeout=30).json()["payloads"][0]
    assert opened == plain
    cors = httpx.options(f"{base}/decode", headers={"Origin": "http://127.0.0.1:18233",
                                                    "Access-Control-Request-Method": "POST"}, timeout=30)
    assert cors.headers["access-control-allow-origin"] == "http://127.0.0.1:18233"
    r = httpx.post(f"{base}/decode", json={"nope": 1}, timeout=30)
    assert r.status_code == 400 and "payloads" in r.json()["detail"]


def test_upgrade_renew_and_auto_renew_through_the_api(api: httpx.Client, a: Tenant) -> None:
    r = api.post(f"/licenses/{a.site_license_id}/upgrade", json={"plan_code": "backup_large"})
    assert r.status_code == 422
    assert "eligible upgrades: Starter, WAF Starter, Pro, Premium" in r.json()["detail"]
    r = api.post(f"/licenses/{a.site_license_id}/upgrade", json={"plan_code": "premium"})
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["type"] == "Premium" and new["site_id"] == a.website_id and new["id"] != a.site_license_id
    assert api.get(f"/licenses/{a.site_license_id}").json()["status"] == "Upgraded"
    assert api.get(f"/websites/{a.website_id}").json()["security_plan"] == "Premium"
    before = api.get(f"/licenses/{a.pro_id}").json()["expires_at"]
    r = api.post(f"/licenses/{a.pro_id}/renew")
    assert r.status_code == 200 and int(r.json()["expires_at"][:4]) == int(before[:4]) + 1
    r = api.post(f"/licenses/{a.basic_id}/renew")
    assert r.status_code == 422 and "cannot be renewed" in r.json()["detail"]
    r = api.put(f"/licenses/{a.basic_id}/auto-renew", json={"enabled": True})
    assert r.status_code == 422 and "nothing to renew" in r.json()["detail"]
    r = api.put(f"/licenses/{a.pro_id}/auto-renew", json={"enabled": True})
    assert r.status_code == 200 and r.json()["auto_renew"] is True


async def test_add_website_answers_202_with_its_workflow_and_bad_domains_say_why(
        api: httpx.Client, a: Tenant, temporal_env: WorkflowEnvironment) -> None:
    body = {"customer_id": a.customer_id, "license_id": a.basic_id, "dns_mode": "none",
            "domain": f"Shop-{a.partner_id}.Example.test"}
    for bad, word in (("https://x.example.test/", "URL"), ("10.0.0.1", "IP address"),
                      ("co.uk", "public suffix")):
        r = api.post("/websites", json={**body, "domain": bad})
        assert r.status_code == 422 and word in r.json()["detail"], r.text
    r = api.post("/websites", json=body)
    assert r.status_code == 202, r.text
    accepted = r.json()
    site = accepted["website"]
    assert accepted["workflow_id"] == f"website-{site['id']}" == site["workflow_id"]
    assert site["domain_ascii"] == f"shop-{a.partner_id}.example.test" and site["step"] == "Pending"
    assert [rec["type"] for rec in site["records_to_create"]] == ["A", "CNAME"]
    desc = await temporal_env.client.get_workflow_handle(accepted["workflow_id"]).describe()
    assert desc.workflow_type == "AddWebsite"  # started for real (no worker polls this queue)
    again = api.post("/websites", json=body)  # a double submit starts nothing twice
    assert again.status_code == 202 and again.json()["website"]["id"] == site["id"]
    r = api.post("/websites", json={**body, "license_id": a.pro_id})
    assert r.status_code == 409 and "already a website" in r.json()["detail"]
    r = api.post("/websites", json={**body, "domain": "other.example.test"})
    assert r.status_code == 409 and "already on a website" in r.json()["detail"]
    r = api.post(f"/websites/{a.website_id}/check-name-servers")
    assert r.status_code == 409 and "not running" in r.json()["detail"]
    assert api.post(f"/websites/{site['id']}/cancel").status_code == 202


def test_attach_a_backup_license_then_set_its_schedule(api: httpx.Client, a: Tenant) -> None:
    r = api.post(f"/websites/{a.website_id}/backup-license", json={"license_id": a.pro_id})
    assert r.status_code == 422 and "choose a backup license" in r.json()["detail"]
    r = api.post(f"/websites/{a.website_id}/backup-license", json={"license_id": a.backup_id})
    assert r.status_code == 200 and r.json()["backup_plan"] == "Backup Small"
    assert r.json()["backup_settings"]["frequency"] == "daily"
    r = api.put(f"/websites/{a.website_id}/backup-settings",
                json={"frequency": "monthly", "hour": 4, "retention_days": 90})
    assert r.status_code == 200
    shown = api.get(f"/websites/{a.website_id}").json()["backup_settings"]
    assert (shown["frequency"], shown["hour"], shown["retention_days"]) == ("monthly", 4, 90)
