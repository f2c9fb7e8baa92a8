"""Data of the expiry benchmark: 1,000,000 licenses of which 100,000 are due, mixed outcomes.

Written straight into a migrated database (COPY on PostgreSQL, executemany on SQLite), with
explicit ids, foreign-key checks off while loading (the licenses and websites refer to each
other). Deterministic for a given seed.

The due licenses (expired by ``AS_OF``, within the three days before it):
  25 % paid, no auto-renewal, on a website   -> expire, website drops to a new Basic license
  20 % paid with auto-renewal, on a website  -> renew
  15 % free trial on a website               -> trial ends, website drops to Basic
  15 % Paid with Trial on a website          -> converts to its paid plan
   8 % backup, no auto-renewal, on a website -> expires, the website's backups stop
   7 % backup with auto-renewal              -> renews
  10 % paid, no auto-renewal, unused         -> expires
Not due: 300,000 websites in all (security licenses expiring later, or Basic), backups on some,
unused distributed licenses and the partners' pools.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

AS_OF = datetime(2027, 1, 15, 3, 0, tzinfo=UTC)
PARTNERS = 100
CUSTOMERS = 100_000
PAID = ("starter", "waf_starter", "pro", "premium")
TRIALS = ("pro_trial_30", "pro_trial_60", "premium_trial_30", "premium_trial_60")
PWT = ("starter_paid_trial", "pro_paid_trial", "premium_paid_trial")
BACKUPS = ("backup_small", "backup_medium", "backup_large")
DUE_MIX = (  # (share, kind, auto_renew, place)
    (0.25, PAID, False, "security"), (0.20, PAID, True, "security"), (0.15, TRIALS, False, "security"),
    (0.15, PWT, False, "security"), (0.08, BACKUPS, False, "backup"), (0.07, BACKUPS, True, "backup"),
    (0.10, PAID, False, None))

LICENSE_COLUMNS = ("id", "partner_id", "customer_id", "plan_code", "slot", "status", "ordered_at",
                   "expires_at", "auto_renew", "website_id", "created_at")
WEBSITE_COLUMNS = ("id", "partner_id", "customer_id", "domain_ascii", "domain_unicode", "dns_mode",
                   "step", "step_reason", "origin_addresses", "security_license_id", "security_slot",
                   "backup_license_id", "backup_slot", "backup_settings", "created_at", "updated_at")


@dataclass
class Data:
    licenses: list[tuple[Any, ...]] = field(default_factory=list)
    websites: list[tuple[Any, ...]] = field(default_factory=list)
    _site_of: dict[int, int] = field(default_factory=dict)  # license id -> website id

    def add_license(self, customer: int | None, code: str, ordered: datetime | None,
                    expires: datetime | None, auto: bool = False) -> int:
        lid = len(self.licenses) + 1
        partner = (customer % PARTNERS) + 1 if customer else (lid % PARTNERS) + 1
        slot = "backup" if code in BACKUPS else "security"
        self.licenses.append((lid, partner, customer, code, slot, "active", ordered, expires, auto,
                              None, ordered or AS_OF - timedelta(days=800)))
        return lid

    def add_site(self, customer: int, security: int, backup: int | None = None) -> int:
        wid = len(self.websites) + 1
        created = AS_OF - timedelta(days=500)
        self.websites.append((wid, (customer % PARTNERS) + 1, customer, f"site{wid}.bench.test",
                              f"site{wid}.bench.test", "none", "Completed", "", '["192.0.2.1"]',
                              security, "security", backup, "backup", "{}", created, created))
        for lid in (security, backup):
            if lid is not None:
                self._site_of[lid] = wid
        return wid

    def finish(self) -> None:
        """Set each license's ``website_id`` to the site it is on."""
        for n, row in enumerate(self.licenses):
            wid = self._site_of.get(row[0])
            if wid is not None:
                self.licenses[n] = (*row[:9], wid, row[10])


def generate(total: int = 1_000_000, due: int = 100_000, websites: int = 300_000,
             seed: int = 42) -> Data:
    rng = random.Random(seed)
    d = Data()

    def customer() -> int:
        return rng.randrange(CUSTOMERS) + 1

    def future() -> datetime:
        return AS_OF + timedelta(seconds=rng.randrange(86400, 365 * 86400))

    def later_paid(c: int) -> int:
        exp = future()
        return d.add_license(c, rng.choice(PAID), exp - timedelta(days=365), exp)

    for share, kind, auto, place in DUE_MIX:
        for _ in range(round(due * share)):
            c, code = customer(), rng.choice(kind)
            exp = AS_OF - timedelta(seconds=rng.randrange(3 * 86400))
            ordered = exp - timedelta(days=30 if kind in (TRIALS, PWT) else 365)
            lid = d.add_license(c, code, ordered, exp, auto)
            if place == "security":
                d.add_site(c, lid)
            elif place == "backup":
                d.add_site(c, later_paid(c), lid)
    backups_on_sites = 0
    while len(d.websites) < websites:  # sites on licenses that are not due
        c = customer()
        sec = later_paid(c) if rng.random() < 0.6 else d.add_license(c, "basic", AS_OF, None)
        backup = None
        if backups_on_sites < websites // 8:
            exp = future()
            backup = d.add_license(c, rng.choice(BACKUPS), exp - timedelta(days=365), exp)
            backups_on_sites += 1
        d.add_site(c, sec, backup)
    while len(d.licenses) < total:
        r = rng.random()
        if r < 0.45:  # the partners' pools: never distributed
            d.add_license(None, rng.choice(PAID + TRIALS + BACKUPS + ("basic",)), None, None)
        elif r < 0.85:
            later_paid(customer())
        else:
            d.add_license(customer(), "basic", AS_OF, None)
    d.finish()
    return d


def sqlite_value(v: Any) -> Any:
    """As SQLAlchemy stores it on SQLite: naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff', 0/1."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, bool):
        return int(v)
    return v


def rows_for_sqlite(rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield tuple(sqlite_value(v) for v in row)
