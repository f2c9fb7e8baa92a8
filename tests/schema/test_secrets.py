"""Secrets at rest: sealed keys, Argon2id passwords, hashed API keys, refused placeholders."""

from __future__ import annotations

import base64
import os

import pytest

from schema.secrets import (
    SecretBox,
    SecretError,
    api_key_matches,
    api_key_prefix,
    hash_password,
    new_api_key,
    verify_password,
)
from schema.settings import DEV_SECRET_KEY, Settings

KEY = base64.b64encode(os.urandom(32)).decode()


def test_sealed_key_opens_only_with_its_key_and_context() -> None:
    box = SecretBox(KEY, "k1")
    sealed = box.seal(b"-----BEGIN PRIVATE KEY-----", b"site-1")
    assert b"PRIVATE KEY" not in sealed
    assert box.open(sealed, b"site-1") == b"-----BEGIN PRIVATE KEY-----"
    with pytest.raises(SecretError):
        box.open(sealed, b"site-2")
    with pytest.raises(SecretError, match="key id"):
        SecretBox(KEY, "k2").open(sealed, b"site-1")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SecretError):
        box.open(tampered, b"site-1")


def test_passwords_are_argon2id_and_short_ones_refused() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "wrong horse battery")
    with pytest.raises(ValueError, match="at least 10"):
        hash_password("short")


def test_api_keys_are_stored_as_hashes() -> None:
    key, prefix, stored = new_api_key()
    assert api_key_prefix(key) == prefix and key not in stored
    assert api_key_matches(key, stored)
    assert not api_key_matches(key + "x", stored)
    assert api_key_prefix("Bearer nonsense") is None


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValueError, match="EDGEWARD_SECRET_KEY is the development placeholder"):
        Settings(environment="production", secret_key=DEV_SECRET_KEY)
    Settings(environment="production", secret_key=KEY, pdns_api_key="a-real-one")
