"""The payload codec over HTTP, for Temporal's own UI and CLI (Temporal's remote codec
protocol): POST /codec/decode and /codec/encode take and answer `{"payloads": [...]}`
in protobuf JSON.

Whoever may call it reads applicants' personal data, so every call goes through
`require_codec_reader`: an officer's, supervisor's or auditor's Bearer token, or their
console session (console/routes.py `codec_reader`). An app without the console refuses
everyone.

Mounting: `install_codec_endpoint(app, EncryptionCodec(load_payload_keys(settings)))`;
then `temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8000/codec` and
`temporal --codec-endpoint http://127.0.0.1:8000/codec --codec-auth "Bearer ..."`.

Temporal's UI calls it from the browser, cross-origin (its own port), so the endpoint
answers CORS for the UI's origins only (`ui_origins`, by default make run's UI on :8233).
The UI sends the console's cookie (same site: 127.0.0.1 on another port) only when told
to include credentials, and the dev server's UI cannot be told so (`start-dev` has no flag
for it; a self-hosted UI server has `codec.includeCredentials`). Each user sets it once
per browser, in the UI: the codec status icon (top right) or "Codec Server" settings, "Use
my browser setting", endpoint http://127.0.0.1:8000/codec, "Include cross-origin
credentials", Apply. tests/console/test_temporal_ui_decoding.py does just that.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from reschedule_desk.console.routes import codec_reader
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from reschedule_desk.codec import PayloadKeyError

# Temporal's UI calls the endpoint from the browser: it must be allowed to, from its own
# origin only, with the console's cookie. By default the UI of `make run` (its UI port,
# run.UI_PORT); an app whose UI is elsewhere names its origins to install_codec_endpoint.
UI_ORIGINS = ("http://127.0.0.1:8233", "http://localhost:8233")
MAX_BODY_BYTES = 4 * 1024 * 1024  # Temporal's own limit for one payload is 2 MiB


async def require_codec_reader(request: Request) -> str:
    """The calling officer's, supervisor's or auditor's name, by their Bearer token or their
    console session: decoded payloads are applicants' personal data. An app without the
    console has no accounts, so nobody may call it."""
    if not hasattr(request.app.state, "console"):
        raise HTTPException(status_code=401, detail="the codec endpoint needs an officer's or auditor's credential")
    return await run_in_threadpool(codec_reader, request)


def current_codec(request: Request) -> PayloadCodec:
    return request.app.state.payload_codec


CodecReader = Annotated[str, Depends(require_codec_reader)]
Codec = Annotated[PayloadCodec, Depends(current_codec)]

router = APIRouter(prefix="/codec", tags=["codec"], include_in_schema=False)


async def _payloads(request: Request) -> Payloads:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(413, detail="at most 4 MiB of payloads at once")
    try:
        return json_format.Parse(body, Payloads())
    except json_format.ParseError as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=f'expected {{"payloads": [...]}} in protobuf JSON: {error}'
        ) from None


def _answer(payloads: list, request: Request) -> Response:
    return Response(content=json_format.MessageToJson(Payloads(payloads=payloads)), media_type="application/json")


@router.post("/decode")
async def decode(request: Request, codec: Codec, reader: CodecReader) -> Response:
    payloads = await _payloads(request)
    try:
        decoded = await codec.decode(payloads.payloads)
    except PayloadKeyError as error:
        # Names the key id only; the UI shows it in place of the payload.
        raise HTTPException(422, detail=str(error)) from None
    return _answer(decoded, request)


@router.post("/encode")
async def encode(request: Request, codec: Codec, reader: CodecReader) -> Response:
    payloads = await _payloads(request)
    return _answer(await codec.encode(payloads.payloads), request)


@router.options("/{operation}")
async def preflight(operation: str, request: Request) -> Response:
    """The browser asks before the UI's first call; no sign-in needed to ask."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    if _allow_ui(request, response):
        response.headers["Access-Control-Allow-Methods"] = "POST"
        # What the UI sends: its JSON, the namespace, and with "pass access token" its tokens.
        response.headers["Access-Control-Allow-Headers"] = (
            "Content-Type, X-Namespace, Authorization, Authorization-Extras"
        )
        response.headers["Access-Control-Max-Age"] = "600"  # not one preflight per payload
    return response


def _allow_ui(request: Request, response: Response) -> bool:
    origin = request.headers.get("origin")
    if origin not in request.app.state.codec_ui_origins:
        return False
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Vary"] = "Origin"
    return True


def install_codec_endpoint(app: FastAPI, codec: PayloadCodec, ui_origins: Iterable[str] = UI_ORIGINS) -> None:
    """Serve /codec with `codec`, callable from the browser by Temporal's UI at `ui_origins`
    only (kept in app.state.codec_ui_origins: exact origins, "http://127.0.0.1:8233")."""
    app.state.payload_codec = codec
    app.state.codec_ui_origins = frozenset(ui_origins)
    app.include_router(router)

    @app.middleware("http")
    async def answers_readable_by_the_ui(request: Request, call_next) -> Response:
        # Refusals too (401, 403, 422): else the UI only says it "could not connect".
        response = await call_next(request)
        if request.url.path.startswith(f"{router.prefix}/"):
            _allow_ui(request, response)
        return response
