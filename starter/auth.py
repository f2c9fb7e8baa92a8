"""Who is calling: partner API keys for the REST API, signed expiring sessions for the portal.

- API keys (``Authorization: Bearer ew_...`` or ``X-API-Key``) are found by their prefix and
  compared by hash; the key itself is never stored or logged.
- A portal session is a cookie holding the user, the partner, a CSRF token and an expiry, signed
  with HMAC-SHA256 under a key derived from the settings' secret key. It is ``HttpOnly``,
  ``Secure`` and ``SameSite=Strict``. A session also carries a fingerprint of the user's password
  hash, so a new password ends every older session.
- CSRF: every portal form posts the session's token (synchronizer token); the login form, which
  has no session yet, uses a double-submit cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schema.models import ApiKey, PartnerUser
from schema.secrets import api_key_matches, api_key_prefix, hash_password, verify_password

SESSION_COOKIE = "ew_session"
LOGIN_CSRF_COOKIE = "ew_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_LIFETIME_S = 8 * 3600



@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong
    password (no user enumeration by timing)."""
    return hash_password("not-a-real-password-0000")


@dataclass(frozen=True)
class Caller:
    """The authenticated partner and how to name the actor in license events."""

    partner_id: int
    actor: str


@dataclass(frozen=True)
class PortalSession:
    user_id: int
    partner_id: int
    email: str
    csrf: str
    expires: int

    @property
    def caller(self) -> Caller:
        return Caller(self.partner_id, self.email)


def api_caller(session: Session, presented: str) -> Caller | None:
    """The partner owning this API key, or None (unknown, revoked or wrong key)."""
    prefix = api_key_prefix(presented)
    if prefix is None:
        return None
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
    if row is None or row.revoked_at is not None or not api_key_matches(presented, row.key_hash):
        return None
    return Caller(row.partner_id, f"api:{prefix}")


def check_login(session: Session, email: str, password: str) -> PartnerUser | None:
    """The user when the password matches its Argon2id hash, else None."""
    user = session.scalars(select(PartnerUser).where(
        func.lower(PartnerUser.email) == email.strip().lower())).one_or_none()
    if user is None:
        verify_password(_dummy_hash(), password)
        return None
    return user if verify_password(user.password_hash, password) else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def password_fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class SessionSigner:
    """Issues and reads the signed session cookie."""

    def __init__(self, secret_key_b64: str, lifetime_s: int = SESSION_LIFETIME_S) -> None:
        self._key = hmac.new(base64.b64decode(secret_key_b64), b"edgeward-portal-session",
                             hashlib.sha256).digest()
        self.lifetime_s = lifetime_s

    def _sign(self, body: bytes) -> str:
        return _b64(hmac.new(self._key, body, hashlib.sha256).digest())

    def issue(self, user: PartnerUser, now: float | None = None) -> tuple[str, PortalSession]:
        now = time.time() if now is None else now
        data = PortalSession(user.id, user.partner_id, user.email, secrets.token_urlsafe(24),
                             int(now) + self.lifetime_s)
        body = json.dumps({"u": data.user_id, "p": data.partner_id, "e": data.email, "c": data.csrf,
                           "x": data.expires, "f": password_fingerprint(user.password_hash)},
                          separators=(",", ":")).encode()
        return f"{_b64(body)}.{self._sign(body)}", data

    def read(self, session: Session, cookie: str | None, now: float | None = None) -> PortalSession | None:
        """The session in the cookie, or None when it is forged, expired or outdated."""
        if not cookie or "." not in cookie:
            return None
        body_b64, _, sig = cookie.partition(".")
        try:
            body = _unb64(body_b64)
        except ValueError:
            return None
        if not hmac.compare_digest(sig, self._sign(body)):
            return None
        try:
            d = json.loads(body)
            data = PortalSession(int(d["u"]), int(d["p"]), str(d["e"]), str(d["c"]), int(d["x"]))
            fingerprint = str(d["f"])
        except (ValueError, KeyError, TypeError):
            return None
        if data.expires <= (time.time() if now is None else now):
            return None
        user = session.get(PartnerUser, data.user_id)
        if (user is None or user.partner_id != data.partner_id
                or password_fingerprint(user.password_hash) != fingerprint):
            return None
        return data


def csrf_ok(expected: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(expected.encode(), str(presented).encode())


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)
