"""The expiry sweep as set-based SQL statements, the benchmark's reference.

The same transitions and license events as ``schema.expiry`` (renew, convert, expire + drop to a
new Basic license, end trial, expire backup), written as a handful of statements over the whole
due set in one transaction, through the database driver directly (no ORM). Dialect differences:
date arithmetic and the JSON constructor.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import text

from schema.db import make_engine
from schema.plans import PLANS, PlanKind


def _codes(*kinds: PlanKind) -> str:
    return ", ".join(f"'{p.code}'" for p in PLANS.values() if p.kind in kinds)


PAID, BACKUP = _codes(PlanKind.PAID), _codes(PlanKind.BACKUP)
TRIAL, PWT = _codes(PlanKind.TRIAL), _codes(PlanKind.PAID_WITH_TRIAL)
CONVERT_TO = " ".join(f"WHEN '{p.code}' THEN '{p.converts_to}'" for p in PLANS.values()
                      if p.converts_to)


def statements(kind: str) -> list[str]:
    """The statements, with :as_of, :actor and :floor parameters (named style)."""
    if kind == "sqlite":
        plus_year = "strftime('%Y-%m-%d %H:%M:%S', {c}, '+12 months') || substr({c}, 20)"
        obj = "json_object"
    else:
        plus_year = "{c} + interval '12 months'"
        obj = "json_build_object"
    renew = f"(auto_renew AND plan_code IN ({PAID}, {BACKUP}))"
    drop = f"((NOT auto_renew AND plan_code IN ({PAID})) OR plan_code IN ({TRIAL}))"
    expire_backup = f"(NOT auto_renew AND plan_code IN ({BACKUP}))"

    def on_d(cond: str) -> str:  # the same condition on the ``due d`` alias
        return cond.replace("auto_renew", "d.auto_renew").replace("plan_code", "d.plan_code")

    return [
        "CREATE TEMP TABLE due AS SELECT id, plan_code, auto_renew, expires_at FROM licenses "
        "WHERE status = 'active' AND expires_at <= :as_of",
        # renew
        f"UPDATE licenses SET expires_at = {plus_year.format(c='expires_at')} "
        f"WHERE id IN (SELECT id FROM due WHERE {renew})",
        f"INSERT INTO license_events (license_id, kind, actor, at, details) "
        f"SELECT d.id, 'auto_renewed', :actor, :as_of, {obj}('old_expiry', d.expires_at, "
        f"'new_expiry', l.expires_at) FROM due d JOIN licenses l ON l.id = d.id WHERE {on_d(renew)}",
        # convert
        f"UPDATE licenses SET plan_code = CASE plan_code {CONVERT_TO} END, "
        f"expires_at = {plus_year.format(c='expires_at')} "
        f"WHERE id IN (SELECT id FROM due WHERE plan_code IN ({PWT}))",
        f"INSERT INTO license_events (license_id, kind, actor, at, details) "
        f"SELECT d.id, 'converted', :actor, :as_of, {obj}('from_plan', d.plan_code, 'to_plan', "
        f"l.plan_code, 'website_id', w.id) FROM due d JOIN licenses l ON l.id = d.id "
        f"LEFT JOIN websites w ON w.security_license_id = d.id AND w.removed_at IS NULL "
        f"WHERE d.plan_code IN ({PWT})",
        # expire
        f"UPDATE licenses SET status = 'expired' "
        f"WHERE id IN (SELECT id FROM due WHERE {drop} OR {expire_backup})",
        # drop the websites of expired paid licenses and ended trials to new Basic licenses
        f"CREATE TEMP TABLE drops AS SELECT d.id AS old_id, d.plan_code, w.id AS website_id, "
        f"w.partner_id, w.customer_id FROM due d JOIN websites w ON w.security_license_id = d.id "
        f"AND w.removed_at IS NULL WHERE {on_d(drop)}",
        "INSERT INTO licenses (partner_id, customer_id, plan_code, slot, status, ordered_at, "
        "expires_at, auto_renew, website_id, created_at) SELECT partner_id, customer_id, 'basic', "
        "'security', 'active', :as_of, NULL, false, website_id, :as_of FROM drops",
        "UPDATE websites SET security_license_id = l.id, updated_at = :as_of FROM licenses l "
        "WHERE l.id > :floor AND l.website_id = websites.id",
        f"INSERT INTO license_events (license_id, kind, actor, at, details) "
        f"SELECT l.id, 'attached', :actor, :as_of, {obj}('website_id', l.website_id) "
        f"FROM licenses l WHERE l.id > :floor",
        f"INSERT INTO license_events (license_id, kind, actor, at, details) "
        f"SELECT d.id, CASE WHEN d.plan_code IN ({TRIAL}) THEN 'trial_ended' ELSE 'expired' END, "
        f":actor, :as_of, {obj}('plan', d.plan_code, 'website_id', x.website_id) "
        f"FROM due d LEFT JOIN drops x ON x.old_id = d.id WHERE {on_d(drop)}",
        # expired backups stop their websites' backups
        f"CREATE TEMP TABLE bdrops AS SELECT d.id AS old_id, w.id AS website_id FROM due d "
        f"JOIN websites w ON w.backup_license_id = d.id AND w.removed_at IS NULL "
        f"WHERE {on_d(expire_backup)}",
        "UPDATE websites SET backup_license_id = NULL, updated_at = :as_of "
        "WHERE id IN (SELECT website_id FROM bdrops)",
        f"INSERT INTO license_events (license_id, kind, actor, at, details) "
        f"SELECT d.id, 'backup_expired', :actor, :as_of, {obj}('plan', d.plan_code, 'website_id', "
        f"x.website_id) FROM due d LEFT JOIN bdrops x ON x.old_id = d.id "
        f"WHERE {on_d(expire_backup)}",
    ]


def run(url: str, kind: str, as_of: datetime, actor: str) -> None:
    """All statements in one transaction."""
    if kind == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        at = as_of.strftime("%Y-%m-%d %H:%M:%S.%f")
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            floor = conn.execute("SELECT coalesce(max(id), 0) FROM licenses").fetchone()[0]
            for stmt in statements(kind):
                conn.execute(stmt, {"as_of": at, "actor": actor, "floor": floor})
            conn.execute("COMMIT")
        finally:
            conn.close()
        return
    with psycopg.connect(url) as pg:
        floor = pg.execute("SELECT coalesce(max(id), 0) FROM licenses").fetchone()
        params: dict[str, Any] = {"as_of": as_of, "actor": actor, "floor": floor[0] if floor else 0}
        for stmt in statements(kind):
            pg.execute(_pyformat(stmt), params)


def _pyformat(stmt: str) -> str:
    """:name -> %(name)s for psycopg (and % escaped)."""
    out = stmt.replace("%", "%%")
    for name in ("as_of", "actor", "floor"):
        out = out.replace(f":{name}", f"%({name})s")
    return out


def outcome(url: str) -> list[Any]:
    """What a partner would see, as counts: licenses by status and plan, events by kind, websites
    by security plan and without backups, and what is still due."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [conn.execute(text(q)).all() for q in (
                "SELECT status, plan_code, count(*) FROM licenses GROUP BY 1, 2 ORDER BY 1, 2",
                "SELECT kind, count(*) FROM license_events GROUP BY 1 ORDER BY 1",
                "SELECT l.plan_code, count(*) FROM websites w JOIN licenses l "
                "ON l.id = w.security_license_id GROUP BY 1 ORDER BY 1",
                "SELECT count(*) FROM websites WHERE backup_license_id IS NULL",
                "SELECT count(*) FROM licenses WHERE status = 'active' AND expires_at IS NOT NULL "
                "AND expires_at < '2027-01-15'")]
    finally:
        engine.dispose()
