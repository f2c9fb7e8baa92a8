"""The AES-GCM payload codec: sealed with the key id in the metadata, tamper-evident."""

from __future__ import annotations

import base64
import os

import pytest
from temporalio.api.common.v1 import Payload

from starter.codec import KEY_ID_METADATA, CodecError, EncryptionCodec, data_converter


def key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


async def test_round_trip_and_nothing_in_clear() -> None:
    conv = data_converter(key(), "k1")
    secret = {"email": "alice@example.test", "key": "-----BEGIN PRIVATE KEY-----"}
    [payload] = await conv.encode([secret])
    assert payload.metadata["encoding"] == b"binary/encrypted"
    assert payload.metadata[KEY_ID_METADATA] == b"k1"
    assert b"alice" not in payload.SerializeToString() and b"PRIVATE" not in payload.data
    assert await conv.decode([payload], [dict]) == [secret]


async def test_rotation_reads_old_keys_and_refuses_unknown_or_tampered() -> None:
    old, new = key(), key()
    [sealed] = await EncryptionCodec("old", old).encode([Payload(data=b"x")])
    rotated = EncryptionCodec("new", new, old_keys={"old": old})
    assert (await rotated.decode([sealed]))[0].data == b"x"
    with pytest.raises(CodecError, match="unknown key id 'old'"):
        await EncryptionCodec("new", new).decode([sealed])
    tampered = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + b"\x00")
    with pytest.raises(CodecError, match="tampered"):
        await rotated.decode([tampered])
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b"1")
    assert (await rotated.decode([plain]))[0] == plain  # histories from before the codec
