"""What a starter action needs: the database sessions, the Temporal client and the settings.

The CLI builds one for a command; the FastAPI app builds one at start-up and hands it to
routes through an ``Annotated`` dependency.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from schema.settings import Settings


@dataclass
class Services:
    sessions: sessionmaker[Session]
    temporal: Client
    settings: Settings
