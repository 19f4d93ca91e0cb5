"""The payload codec endpoint is behind the console's sign-in: officers, supervisors and
auditors may decode applicants' payloads; an admin may not, nor anyone signed out."""

from __future__ import annotations

import base64

import pytest

from reschedule_desk.codec import ENCODING


def _plain_payload() -> dict:
    return {
        "payloads": [
            {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": base64.b64encode(b'"x"').decode()}
        ]
    }


async def test_the_codec_endpoint_refuses_a_caller_who_is_not_signed_in(browser) -> None:
    response = await browser().client.post("/codec/decode", json=_plain_payload())
    assert response.status_code == 401


async def test_an_admin_may_not_read_applicants_payloads(signed_in) -> None:
    admin = await signed_in("admin.ana")
    response = await admin.client.post("/codec/decode", json=_plain_payload())
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["officer.kim", "auditor.lee"])
async def test_officers_and_auditors_signed_in_to_the_console_can_encode_and_decode(signed_in, name: str) -> None:
    reader = await signed_in(name)
    encoded = await reader.client.post("/codec/encode", json=_plain_payload())
    assert encoded.status_code == 200
    (payload,) = encoded.json()["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == ENCODING
    decoded = await reader.client.post("/codec/decode", json=encoded.json())
    assert decoded.json() == _plain_payload()
