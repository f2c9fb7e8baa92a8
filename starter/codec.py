"""The payload codec: every Temporal payload is sealed with AES-256-GCM before it leaves us.

Workflow inputs, results, signals, heartbeats and failures' details pass through it, so no
private key, e-mail address or domain is in Temporal's history in plain text. The encoded
payload's metadata names the codec (``encoding: binary/encrypted``) and the key id
(``encryption-key-id``), so a later key rotation can still read older histories. The worker,
the CLI, the API and the tests all build their clients through :func:`data_converter`.
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12


class CodecError(ValueError):
    """A payload that this codec cannot open: unknown key id, or tampered with."""


class EncryptionCodec(PayloadCodec):
    """AES-GCM with one current key (used to encode) and any older keys (accepted to decode)."""

    def __init__(self, key_id: str, key_b64: str, old_keys: dict[str, str] | None = None) -> None:
        self.key_id = key_id
        self._keys = {key_id: _aead(key_b64)}
        for kid, k in (old_keys or {}).items():
            self._keys.setdefault(kid, _aead(k))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(p) for p in payloads]

    def _seal(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        aad = self.key_id.encode()
        sealed = nonce + self._keys[self.key_id].encrypt(nonce, payload.SerializeToString(), aad)
        return Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: aad}, data=sealed)

    def _open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was on, or by a client without it
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode()
        aead = self._keys.get(key_id)
        if aead is None:
            raise CodecError(f"payload sealed with unknown key id {key_id!r}")
        data = payload.data
        try:
            plain = aead.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
        except InvalidTag as exc:
            raise CodecError("payload does not open with its key (tampered with?)") from exc
        out = Payload()
        out.ParseFromString(plain)
        return out


def _aead(key_b64: str) -> AESGCM:
    key = base64.b64decode(key_b64)
    if len(key) != 32:
        raise ValueError("the payload key must be 32 bytes, base64-encoded")
    return AESGCM(key)


def codec_for(secret_key: str, secret_key_id: str) -> EncryptionCodec:
    return EncryptionCodec(secret_key_id, secret_key)


def data_converter(secret_key: str, secret_key_id: str) -> DataConverter:
    """The default converter with our codec; failure messages and stack traces are encoded too
    (they can name a domain or quote an error from a customer's server)."""
    return dataclasses.replace(DataConverter.default,
                               payload_codec=codec_for(secret_key, secret_key_id),
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)
