"""Caddy edge nodes over their admin API (incremental calls only, never a full /load).

The payloads below are the contract between the workflows and this module; the
``EdgeActivities`` class is built on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EdgeSite:
    """One website as every edge serves it."""

    domain: str  # ASCII (IDNA) form; the route also covers www.<domain>
    plan_code: str  # the security plan: decides the features (WAF rules) on the edge
    origins: list[str] = field(default_factory=list)  # upstreams, "host:port"
    include_www: bool = True


@dataclass(frozen=True)
class ApplySitesInput:
    """Add or replace these sites on every edge: one admin call per edge per batch."""

    sites: list[EdgeSite]
