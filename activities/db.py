"""Database activities: what workflows record in Edgeward's own database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from schema.models import Website, utcnow


@dataclass(frozen=True)
class SetStepInput:
    """The Site Provisioning value of one website, and why."""

    website_id: int
    step: str
    reason: str = ""


class DbActivities:
    """Writes from workflows to the database, each one idempotent."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    @activity.defn(name="db.set_website_step")
    def set_website_step(self, inp: SetStepInput) -> None:
        """Record the provisioning step shown in the Site Provisioning column."""
        with self._sessions.begin() as session:
            session.execute(update(Website).where(Website.id == inp.website_id).values(
                step=inp.step, step_reason=inp.reason, updated_at=utcnow()))
