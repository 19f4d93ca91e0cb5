"""The codec over HTTP, in Temporal's remote codec protocol, for its UI and CLI: only for
a signed-in officer or auditor."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from fastapi import FastAPI

from reschedule_desk.codec import EncryptionCodec, PayloadKey, PayloadKeys
from reschedule_desk.codec_server import install_codec_endpoint, require_codec_reader

CANARY = '{"full_name": "Sokha Canary", "date_of_birth": "1979-11-23"}'


def b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


PLAIN = {"payloads": [{"metadata": {"encoding": b64("json/plain")}, "data": b64(CANARY)}]}


def codec_app(signed_in: bool, keys: PayloadKeys | None = None) -> FastAPI:
    app = FastAPI()
    install_codec_endpoint(app, EncryptionCodec(keys or PayloadKeys([PayloadKey.generate("k1")])))
    if signed_in:
        app.dependency_overrides[require_codec_reader] = lambda: "auditor.lee"
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk")


async def test_encode_then_decode_gives_back_the_payloads() -> None:
    async with client(codec_app(signed_in=True)) as desk:
        encoded = await desk.post("/codec/encode", json=PLAIN, headers={"X-Namespace": "default"})
        assert encoded.status_code == 200
        (sealed,) = encoded.json()["payloads"]
        assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
        assert b"Canary" not in base64.b64decode(sealed["data"])

        decoded = await desk.post("/codec/decode", json=encoded.json())
        assert decoded.status_code == 200
        assert decoded.json() == PLAIN


async def test_without_a_signed_in_officer_or_auditor_nothing_is_decoded() -> None:
    async with client(codec_app(signed_in=True)) as allowed:
        sealed = (await allowed.post("/codec/encode", json=PLAIN)).json()
    async with client(codec_app(signed_in=False)) as anonymous:
        for path, body in (("/codec/decode", sealed), ("/codec/encode", PLAIN)):
            refused = await anonymous.post(path, json=body)
            assert refused.status_code == 401
            assert refused.json() == {"detail": "the codec endpoint needs an officer's or auditor's credential"}
            assert "Canary" not in refused.text


async def test_a_refusal_is_readable_by_temporals_ui_so_it_shows_the_reason() -> None:
    async with client(codec_app(signed_in=False)) as anonymous:
        refused = await anonymous.post("/codec/decode", json=PLAIN, headers={"Origin": "http://127.0.0.1:8233"})
        elsewhere = await anonymous.post("/codec/decode", json=PLAIN, headers={"Origin": "http://evil.example"})
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8233"
    assert "Access-Control-Allow-Origin" not in elsewhere.headers


@pytest.mark.parametrize("body", [b"not json", b'{"payloads": "nope"}', b'{"payloads": [{"data": 5}]}'])
async def test_a_malformed_body_is_refused_with_the_expected_shape(body: bytes) -> None:
    async with client(codec_app(signed_in=True)) as desk:
        refused = await desk.post("/codec/decode", content=body, headers={"content-type": "application/json"})
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith('expected {"payloads": [...]} in protobuf JSON')


async def test_a_payload_sealed_with_a_retired_key_is_named_not_guessed() -> None:
    async with client(codec_app(signed_in=True)) as old_desk:
        sealed = (await old_desk.post("/codec/encode", json=PLAIN)).json()
    async with client(codec_app(signed_in=True, keys=PayloadKeys([PayloadKey.generate("k2")]))) as desk:
        refused = await desk.post("/codec/decode", json=sealed)
    assert refused.status_code == 422
    assert "key 'k1'" in refused.json()["detail"]


async def test_temporals_ui_may_call_it_from_its_own_origin_only() -> None:
    async with client(codec_app(signed_in=True)) as desk:
        preflight = await desk.options(
            "/codec/decode",
            headers={"Origin": "http://127.0.0.1:8233", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert "X-Namespace" in preflight.headers["access-control-allow-headers"]
        elsewhere = await desk.options("/codec/decode", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in elsewhere.headers
        answered = await desk.post("/codec/encode", json=PLAIN, headers={"Origin": "http://127.0.0.1:8233"})
        assert answered.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"


def test_the_protocol_bodies_are_plain_json() -> None:
    assert json.loads(json.dumps(PLAIN)) == PLAIN
