"""FastAPI dependencies as ``Annotated`` aliases: services, a database session, the API caller."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from schema.models import utcnow
from starter.auth import Caller, api_caller
from starter.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def db_session(services: ServicesDep) -> Iterator[Session]:
    """A session for one request; routes that change data commit it themselves."""
    with services.sessions() as session:
        yield session


Db = Annotated[Session, Depends(db_session)]

_bearer = HTTPBearer(auto_error=False, description="a partner API key: `Bearer ew_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="a partner API key")


def api_auth(session: Db, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
             key: Annotated[str | None, Depends(_header)]) -> Caller:
    presented = bearer.credentials if bearer is not None else key
    if not presented:
        raise HTTPException(401, "send a partner API key as 'Authorization: Bearer <key>'",
                            headers={"WWW-Authenticate": "Bearer"})
    caller = api_caller(session, presented)
    if caller is None:
        raise HTTPException(401, "the API key is unknown or revoked; create a new key",
                            headers={"WWW-Authenticate": "Bearer"})
    return caller


ApiCaller = Annotated[Caller, Depends(api_auth)]


def now() -> datetime:
    return utcnow()


Now = Annotated[datetime, Depends(now)]
