"""Secrets at rest: AES-GCM sealing of private keys, API key and password hashing.

A sealed value is ``key id || 0x00 || nonce (12) || ciphertext+tag``: the key id lets a later
key rotation read older values. Passwords use Argon2id (memory-hard); API keys are random
256-bit tokens, so a plain SHA-256 of the token is enough to store them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

API_KEY_PREFIX = "ew_"


class SecretError(ValueError):
    """A sealed value that cannot be opened (wrong key, or tampered with)."""


class SecretBox:
    """Seals and opens bytes with one AES-256-GCM key, named by a key id."""

    def __init__(self, key_b64: str, key_id: str) -> None:
        key = base64.b64decode(key_b64)
        if len(key) != 32:
            raise ValueError("the secret key must be 32 bytes, base64-encoded")
        if not key_id or "\x00" in key_id:
            raise ValueError("the secret key id must be non-empty")
        self._aead = AESGCM(key)
        self.key_id = key_id

    def seal(self, plaintext: bytes, context: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        head = self.key_id.encode() + b"\x00"
        return head + nonce + self._aead.encrypt(nonce, plaintext, head + context)

    def open(self, sealed: bytes, context: bytes = b"") -> bytes:
        key_id, sep, rest = sealed.partition(b"\x00")
        if not sep or key_id.decode(errors="replace") != self.key_id:
            raise SecretError(f"sealed with key id {key_id!r}, not {self.key_id!r}")
        try:
            return self._aead.decrypt(rest[:12], rest[12:], key_id + b"\x00" + context)
        except Exception as exc:  # cryptography raises InvalidTag
            raise SecretError("the sealed value does not open with this key") from exc


_hasher = PasswordHasher()  # Argon2id, 64 MiB, 3 passes (argon2-cffi's RFC 9106 low-memory)


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise ValueError("a password needs at least 10 characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_key() -> tuple[str, str, str]:
    """A new API key: (the key, shown once; its lookup prefix; its hash to store)."""
    prefix = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_api_key(key)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_prefix(key: str) -> str | None:
    """The lookup prefix of a presented key, or None when it is not one of ours."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    prefix, _, rest = key[len(API_KEY_PREFIX):].partition("_")
    return prefix if len(prefix) == 12 and rest else None


def api_key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), stored_hash)
