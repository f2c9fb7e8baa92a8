"""The partner's journey in real headless Chromium (Debian's, driven by PyPI playwright), and the
wizards used from the keyboard alone. Screenshots go to tests/output/browser/ (git-ignored)."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from schema import licenses as svc
from schema.models import License, Website, utcnow
from schema.settings import ROOT, Settings
from starter.stack.process import ManagedProcess, free_port, port_open, wait_until
from tests.fixtures.database import empty_tables, engine_for
from tests.fixtures.dns import DnsStack
from tests.fixtures.portal import PortalServer
from tests.fixtures.sites import settings_env
from tests.site_helpers import customer_domain
from tests.starter.tenants import Tenant, make_tenant

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--no-first-run"]
WAIT_MS = 15_000
PROVISION_MS = 120_000  # a bound, not a timing assertion: real DNS import, ACME and edges


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def site(sqlite_url: str, portal_servers: Callable[[str], PortalServer]) -> Iterator[PortalServer]:
    """The portal on SQLite only (the API tests cover both databases)."""
    yield portal_servers(sqlite_url)
    empty_tables(engine_for(sqlite_url))


@dataclass
class Journey:
    base_url: str
    sessions: sessionmaker[Session]
    dns_stack: DnsStack


@pytest.fixture
def journey(site_settings: Settings, site_sessions: sessionmaker[Session], dns_stack: DnsStack,
            tmp_path: Path) -> Iterator[Journey]:
    """The product's own worker (``worker.py``) and portal (``starter.serve``) as processes, on
    the session's real Temporal, PostgreSQL, PowerDNS trio, Pebble and Caddy edges."""
    port = free_port()
    env = {**settings_env(site_settings), "EDGEWARD_PORTAL_HOST": "127.0.0.1",
           "EDGEWARD_PORTAL_PORT": str(port)}
    worker = ManagedProcess("worker", tmp_path / "worker")
    portal = ManagedProcess("portal", tmp_path / "portal")
    try:
        proc = worker.spawn([sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT)
        wait_until(lambda: "worker polling" in worker.log_file.read_text(errors="replace"), 60,
                   "the worker", worker.log_file, proc)
        proc = portal.spawn([sys.executable, "-m", "starter.serve"], env=env, cwd=ROOT)
        wait_until(lambda: port_open(port), 60, "the portal", portal.log_file, proc)
        yield Journey(f"http://127.0.0.1:{port}", site_sessions, dns_stack)
    finally:
        portal.stop()
        worker.stop()


@pytest.fixture
def shots(output_dir: Path) -> Callable[[Page, str], None]:
    folder = output_dir / "browser"
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page: Page, name: str) -> None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    return shot


def log_in(page: Page, base: str, t: Tenant) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(t.email)
    page.get_by_label("Password").fill(t.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Customer and License Management")).to_be_visible()


def row(page: Page, license_id: int):  # type: ignore[no-untyped-def]
    return page.locator(f'tr[data-license="{license_id}"]')


def test_partner_journey(browser: Browser, journey: Journey, shots: Callable[[Page, str], None],
                         output_dir: Path) -> None:
    sessions = journey.sessions
    t = make_tenant(sessions, "Journey")
    with sessions.begin() as s:
        extra = [svc.distribute(s, t.partner_id, t.customer_id, code, utcnow(), "test").id
                 for code in ("basic", "starter")]
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.set_default_timeout(WAIT_MS)
    base = journey.base_url

    log_in(page, base, t)
    shots(page, "01-customers")
    page.get_by_role("link", name="Journey Customer One").click()
    expect(page.get_by_role("heading", name="Customer Details: Journey Customer One")).to_be_visible()
    headers = page.locator("#licenses thead th").all_inner_texts()
    assert headers == ["Type", "Site Name", "Site Provisioning", "Order Date", "Expiration Date",
                       "Auto Renewal", "Status", "Actions"]
    shots(page, "02-customer-details")

    with page.expect_download() as dl:
        page.get_by_role("link", name="Download CSV").click()
    target = output_dir / "browser" / dl.value.suggested_filename
    dl.value.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert any(r["Site Name"].startswith("café.") and r["Domain (ASCII)"].startswith("xn--caf-dma.")
               for r in rows)

    # Add Website, once per DNS service, each through the confirmation screen; the real
    # workflows run, and the Site Provisioning column follows them without a reload.
    modes = [("No DNS", t.basic_id), ("Initiate DNS", extra[0]), ("Initiate DNS and Auto SSL", extra[1])]
    domains = [customer_domain(journey.dns_stack) for _ in modes]
    for n, ((mode, lic_id), domain) in enumerate(zip(modes, domains, strict=True)):
        row(page, lic_id).get_by_role("link", name="Add Website").click()
        expect(page.get_by_label("Customer")).to_have_value(f"one@{t.email.split('@')[1][:-8]}.test")
        plan = "Starter" if n == 2 else "Basic"
        expect(page.get_by_label("License", exact=True)).to_have_value(f"{plan} (#{lic_id})")
        page.get_by_label("Domain").fill(domain.upper())
        page.get_by_label(mode, exact=True).check()
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_role("heading", name="Review your settings")).to_be_visible()
        expect(page.locator("dl.review")).to_contain_text(domain)
        expect(page.locator("dl.review")).to_contain_text(mode)
        if n == 0:
            shots(page, "03-add-website-confirm")
            page.get_by_role("button", name="Back").click()  # Back keeps what was entered
            expect(page.get_by_label("Domain")).to_have_value(domain.upper())
            expect(page.get_by_label(mode, exact=True)).to_be_checked()
            page.get_by_role("button", name="Next").click()
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("status")).to_contain_text("provisioning has started")
        expect(row(page, lic_id)).to_contain_text(domain)
    with sessions() as s:
        added = {w.domain_ascii: w for w in s.query(Website).filter(Website.domain_ascii.in_(domains))}
        assert [added[d].dns_mode for d in domains] == ["none", "import", "import_ssl"]
        assert all(w.workflow_id == f"website-{w.id}" for w in added.values())
    ssl_cell = row(page, extra[1]).locator(".prov")
    for lic_id in (t.basic_id, extra[0]):
        expect(row(page, lic_id).locator(".prov .step")).to_have_text("Completed", timeout=PROVISION_MS)
    expect(ssl_cell.locator(".step")).to_have_text("Waiting for name servers", timeout=PROVISION_MS)
    expect(ssl_cell.locator(".reason")).to_contain_text("ns1.edgeward.net")
    shots(page, "04-waiting-for-name-servers")
    journey.dns_stack.flip(f"{domains[2]}.")  # the customer switches name servers
    ssl_cell.get_by_role("button", name="Check name servers now").click()
    expect(page.get_by_role("status")).to_contain_text("checked now")
    expect(row(page, extra[1]).locator(".prov .step")).to_have_text("Completed", timeout=PROVISION_MS)
    expect(row(page, extra[1]).get_by_role("button", name="Check name servers now")).to_be_hidden()
    shots(page, "05-websites-completed")
    site_id = added[domains[2]].id
    page.goto(f"{base}/websites/{site_id}")
    certificate = page.get_by_role("region", name="Certificate")
    expect(certificate).to_contain_text("Valid until")
    expect(certificate).to_contain_text(f"www.{domains[2]}")
    expect(page.get_by_role("region", name="DNS")).to_contain_text("ns1.edgeward.net")
    shots(page, "06-site-page")
    page.get_by_role("link", name="Journey Customer One").click()

    # Manage Backup License on the site that came with the tenant.
    row(page, t.site_license_id).get_by_role("link", name="Manage Backup License").click()
    page.get_by_label("License", exact=True).select_option(str(t.backup_id))
    page.get_by_role("button", name="Next").click()
    expect(page.locator("dl.review")).to_contain_text(f"Backup Small (#{t.backup_id})")
    shots(page, "07-backup-confirm")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("status")).to_contain_text("backup license was added")
    expect(page.locator(f'tr[data-website="{t.website_id}"]')).to_contain_text("Backup Small")

    # Upgrade that site's Basic to Pro: the drop-down lists the eligible plans only.
    row(page, t.site_license_id).get_by_role("link", name="Upgrade").click()
    options = page.get_by_label("License", exact=True).locator("option").all_inner_texts()
    assert [o.split(" (")[0] for o in options] == ["Starter", "WAF Starter", "Pro", "Premium"]
    page.get_by_label("License", exact=True).select_option("pro")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("dl.review")).to_contain_text("Pro")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("status")).to_contain_text("upgraded")
    expect(row(page, t.site_license_id)).to_contain_text("Upgraded")
    with sessions() as s:
        website = s.get(Website, t.website_id)
        assert website is not None
        new_id = website.security_license_id
        assert s.get(License, new_id).plan_code == "pro"  # type: ignore[union-attr]
    expect(row(page, new_id)).to_contain_text("Pro")
    shots(page, "08-upgraded")

    # Renew the Pro license on the site, then switch its auto-renewal on.
    before = row(page, new_id).locator("td").nth(4).inner_text()
    row(page, new_id).get_by_role("button", name="Renew").click()
    expect(page.get_by_role("status")).to_contain_text("renewed")
    after = row(page, new_id).locator("td").nth(4).inner_text()
    assert int(after[:4]) == int(before[:4]) + 1
    toggle = row(page, new_id).get_by_role("switch")
    expect(toggle).to_have_attribute("aria-checked", "false")
    toggle.click()
    expect(page.get_by_role("status")).to_contain_text("Auto renewal is on")
    expect(row(page, new_id).get_by_role("switch")).to_have_attribute("aria-checked", "true")
    shots(page, "09-renewed-auto-renew")
    page.close()


def test_wizards_are_labelled_and_usable_from_the_keyboard(
        browser: Browser, site: PortalServer, shots: Callable[[Page, str], None]) -> None:
    sessions = sessionmaker(engine_for(site.db_url), expire_on_commit=False)
    t = make_tenant(sessions, "Keys")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{site.base_url}/login")
    page.keyboard.type(t.email)  # the e-mail field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(t.password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Customer and License Management")).to_be_visible()
    page.goto(f"{site.base_url}/customers/{t.customer_id}/licenses/{t.basic_id}/add-website")
    unlabelled = page.evaluate("""() => [
        ...document.querySelectorAll('main input:not([type=hidden]), main select')]
        .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map(el => el.outerHTML)""")
    assert unlabelled == []
    expect(page.get_by_label("Domain")).to_be_focused()
    page.keyboard.type("keyboard.example.test")
    page.keyboard.press("Tab")  # the License field (read-only)
    page.keyboard.press("Tab")  # into the DNS Service radio group, on the chosen option
    expect(page.get_by_label("No DNS", exact=True)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Initiate DNS", exact=True)).to_be_checked()
    page.keyboard.press("Tab")  # Cancel
    page.keyboard.press("Tab")  # Next
    expect(page.get_by_role("button", name="Next")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Review your settings")).to_be_visible()
    expect(page.get_by_role("button", name="Submit")).to_be_focused()
    shots(page, "10-keyboard-confirm")
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Back")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Domain")).to_have_value("keyboard.example.test")
    expect(page.get_by_label("Initiate DNS", exact=True)).to_be_checked()
    # The upgrade wizard, from the keyboard through Submit.
    page.goto(f"{site.base_url}/customers/{t.customer_id}/licenses/{t.basic_id}/upgrade")
    expect(page.get_by_label("License", exact=True)).to_be_focused()
    page.keyboard.press("ArrowDown")  # Starter -> WAF Starter
    page.keyboard.press("ArrowDown")  # -> Pro
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("dl.review dd").nth(1)).to_have_text("Pro")
    page.keyboard.press("Enter")  # Submit has the focus
    expect(page.get_by_role("status")).to_contain_text("upgraded")
    expect(row(page, t.basic_id)).to_contain_text("Upgraded")
    page.close()
