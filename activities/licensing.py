"""License activities: the expiry sweep's pages and the edge view of websites, on the database.

``sweep_page`` handles one keyset page of due licenses in chunks (one transaction each) and
heartbeats its cursor after every chunk, so a retried attempt resumes where the last one got to.
It is idempotent twice over: a handled license is no longer due, and what the page reports (counts
per outcome, websites whose plan changed) is read back from the license events the page wrote
after ``event_floor``, so a crash between a commit and the activity's completion loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.edge import ApplySitesInput, EdgeSite
from activities.errors import invalid_input
from schema import expiry


@dataclass(frozen=True)
class SweepCursor:
    """The last license a sweep handled, by (expiry, id): the keyset the next page starts after."""

    expires_at: datetime
    license_id: int


@dataclass(frozen=True)
class SweepPageInput:
    """One page of the sweep at ``as_of``; ``actor`` (``workflow:<id>``) goes on every event."""

    as_of: datetime
    actor: str
    after: SweepCursor | None = None
    page_size: int = 20_000
    chunk_size: int | None = None  # None: CHUNK_SIZE of the database
    # Every event this page writes has a larger id (the previous page's result); None: take it now.
    event_floor: int | None = None


@dataclass(frozen=True)
class SweepPageOutput:
    after: SweepCursor | None  # where the next page starts (None: from the beginning)
    done: bool  # nothing more is due
    handled: int  # licenses handled by this page (all attempts)
    counts: dict[str, int] = field(default_factory=dict)  # outcome -> licenses
    website_ids: list[int] = field(default_factory=list)  # sites whose security plan changed
    event_floor: int = 0  # the next page's floor


@dataclass(frozen=True)
class EdgeSitesInput:
    website_ids: list[int]


@dataclass(frozen=True)
class EdgeFingerprint:
    """A digest of how the edges must serve some websites now, and how many of them are live."""

    fingerprint: str
    sites: int


def _cursor(key: expiry.DueKey | None) -> SweepCursor | None:
    return SweepCursor(key.expires_at, key.id) if key else None


def _key(cur: SweepCursor | None) -> expiry.DueKey | None:
    return expiry.DueKey(cur.expires_at, cur.license_id) if cur else None


def _beat(key: expiry.DueKey | None, floor: int) -> dict[str, Any]:
    return {"floor": floor, "expires_at": key.expires_at.isoformat() if key else None,
            "id": key.id if key else None}


def _resume(details: dict[str, Any]) -> tuple[expiry.DueKey | None, int]:
    key = (expiry.DueKey(datetime.fromisoformat(details["expires_at"]), int(details["id"]))
           if details.get("expires_at") else None)
    return key, int(details["floor"])


# Licenses per transaction. On PostgreSQL a chunk locks only its rows; on SQLite it holds the
# one write lock, but every commit also checkpoints the WAL, which bench/expiry_sweep.py showed
# costing as much as the writes themselves at 5,000 (about 0.5 s of lock per 10,000 licenses).
CHUNK_SIZE = {"postgresql": 5000, "sqlite": 20_000}


class LicenseActivities:
    """The license lifecycle's database work, each activity idempotent."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory
        bind = session_factory.kw.get("bind")
        self._chunk_size = CHUNK_SIZE.get(bind.dialect.name if bind else "", 5000)

    def _chunk(self, as_of: datetime, after: expiry.DueKey | None, limit: int,
               actor: str) -> expiry.Chunk:
        """One transaction: handle up to ``limit`` due licenses after ``after``."""
        with self._sessions.begin() as session:
            return expiry.sweep_chunk(session, as_of, after, limit, actor)

    @activity.defn(name="licensing.sweep_page")
    def sweep_page(self, inp: SweepPageInput) -> SweepPageOutput:
        """Handle up to ``page_size`` due licenses after the cursor, heartbeating the cursor."""
        chunk_size = self._chunk_size if inp.chunk_size is None else inp.chunk_size
        if inp.page_size < 1 or chunk_size < 1:
            raise invalid_input("page_size and chunk_size must be at least 1")
        if inp.as_of.tzinfo is None:
            raise invalid_input("as_of must be timezone-aware (UTC)")
        after, floor = _key(inp.after), inp.event_floor
        details = activity.info().heartbeat_details
        if details:  # a retry: resume after the last chunk the previous attempt reported
            after, floor = _resume(details[0])
        if floor is None:
            if activity.info().attempt > 1:
                floor = 0  # the first attempt's floor is unknown: read back all our events
            else:
                with self._sessions() as session:
                    floor = expiry.max_event_id(session)
        activity.heartbeat(_beat(after, floor))
        done, seen = False, 0
        while seen < inp.page_size:
            want = min(chunk_size, inp.page_size - seen)
            chunk = self._chunk(inp.as_of, after, want, inp.actor)
            if chunk.last is None:
                done = True
                break
            after, seen = chunk.last, seen + chunk.handled
            activity.heartbeat(_beat(after, floor))
            if chunk.handled < want:
                done = True
                break
        with self._sessions() as session:
            changes = expiry.changes_since(session, floor, inp.actor)
            next_floor = expiry.max_event_id(session)
        return SweepPageOutput(_cursor(after), done, sum(changes.counts.values()), changes.counts,
                               changes.website_ids, next_floor)

    @activity.defn(name="licensing.edge_batch")
    def edge_batch(self, inp: EdgeSitesInput) -> ApplySitesInput:
        """The input of ``edge.apply_sites`` for these websites: their current plan and origins
        (removed or not yet routed sites are left out), read now so the newest change wins."""
        with self._sessions() as session:
            rows = expiry.sites_on_edge(session, inp.website_ids)
        return ApplySitesInput([EdgeSite(r.domain, r.plan_code, r.origins) for r in rows])

    @activity.defn(name="licensing.edge_fingerprint")
    def edge_fingerprint(self, inp: EdgeSitesInput) -> EdgeFingerprint:
        """A digest of what ``edge_batch`` would give for these websites now (to see whether
        they changed while their edges were being updated)."""
        with self._sessions() as session:
            return EdgeFingerprint(*expiry.edge_fingerprint(session, inp.website_ids))
