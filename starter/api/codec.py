"""/api/v1/codec/encode and /decode: the codec server the Temporal Web UI calls to show our
encrypted payloads (the Temporal "remote codec" protocol: ``{"payloads": [...]}`` in and out,
each payload's metadata values and data base64-encoded).

Decoding shows plain text, so it answers only clients on the loopback interface, and the browser
only from the Temporal UI's origin (CORS, set up in ``starter.app``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from starter.api.deps import ServicesDep
from starter.api.errors import ApiError
from starter.codec import CodecError, codec_for

router = APIRouter(prefix="/codec", tags=["codec"], include_in_schema=False)


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _payloads(request: Request) -> list[Payload]:
    if not _loopback(request):
        raise ApiError(403, "the codec server answers only on the loopback interface", "forbidden")
    try:
        body: Any = await request.json()
        return [json_format.ParseDict(p, Payload()) for p in body["payloads"]]
    except (ValueError, KeyError, TypeError, json_format.ParseError):
        raise ApiError(400, 'send {"payloads": [...]} as the Temporal codec protocol defines',
                       "bad_payloads") from None


def _answer(payloads: list[Payload]) -> JSONResponse:
    return JSONResponse({"payloads": [json_format.MessageToDict(p) for p in payloads]})


@router.post("/encode")
async def encode(request: Request, services: ServicesDep) -> JSONResponse:
    s = services.settings
    return _answer(await codec_for(s.secret_key, s.secret_key_id).encode(await _payloads(request)))


@router.post("/decode")
async def decode(request: Request, services: ServicesDep) -> JSONResponse:
    s = services.settings
    try:
        return _answer(await codec_for(s.secret_key, s.secret_key_id).decode(await _payloads(request)))
    except CodecError as exc:
        raise ApiError(400, str(exc), "codec_error") from None


