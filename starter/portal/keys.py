"""The portal's 'API Keys' tab: a partner creates keys for its systems (each shown once, only
its hash stored) and revokes them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy import select

from schema.models import ApiKey, utcnow
from schema.secrets import new_api_key
from starter.api.deps import Db
from starter.api.schemas import MAX_ID
from starter.portal.web import FormUser, User, render, see_other

router = APIRouter(include_in_schema=False)


def _keys(session: Db, partner_id: int) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.partner_id == partner_id)
                                .order_by(ApiKey.id.desc())))


@router.get("/api-keys")
def list_keys(request: Request, user: User, session: Db) -> Response:
    return render(request, "api_keys.html", user, keys=_keys(session, user.partner_id), new_key=None,
                  error=None)


@router.post("/api-keys")
def create_key(request: Request, user: FormUser, session: Db,
               name: Annotated[str, Form(max_length=100)] = "") -> Response:
    name = name.strip().replace("\x00", "")
    if not name:
        return render(request, "api_keys.html", user, status_code=422,
                      keys=_keys(session, user.partner_id), new_key=None,
                      error="Give the key a name, e.g. the system that will use it.")
    key, prefix, key_hash = new_api_key()
    session.add(ApiKey(partner_id=user.partner_id, name=name, prefix=prefix, key_hash=key_hash))
    session.commit()
    resp = render(request, "api_keys.html", user, status_code=201, keys=_keys(session, user.partner_id),
                  new_key=key, error=None)
    resp.headers["Cache-Control"] = "no-store"  # the only time the key is shown
    return resp


@router.post("/api-keys/{key_id}/revoke")
def revoke_key(key_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: FormUser, session: Db) -> Response:
    from schema.licenses import NotFound

    row = session.scalars(select(ApiKey).where(ApiKey.id == key_id,
                                               ApiKey.partner_id == user.partner_id)).one_or_none()
    if row is None:
        raise NotFound(f"API key {key_id} not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return see_other("/api-keys", "key_revoked")
