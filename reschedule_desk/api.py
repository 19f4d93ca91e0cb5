"""The JSON API: applicants' requests come in here, and the same five actions as the CLI.

OpenAPI at /openapi.json. Errors are specific: 422 names the field, 409 repeats the
workflow validator's reason, 404 names the case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from reschedule_desk.codec import EncryptionCodec, load_payload_keys
from reschedule_desk.codec_server import install_codec_endpoint
from reschedule_desk.console.routes import ConsoleState
from reschedule_desk.console.routes import router as console_router
from reschedule_desk.desk import ActionRefused, CaseNotFound, Desk, RequestAlreadyOpen
from reschedule_desk.domain.decisions import Approval, Denial, InfoProvided, InfoRequest, Withdrawal
from reschedule_desk.domain.lifecycle import RequestStatus
from reschedule_desk.domain.posts import UnknownPost
from reschedule_desk.domain.request import CASE_NUMBER_PATTERN, RescheduleRequest
from reschedule_desk.settings import Settings
from reschedule_desk.temporal import connect

CaseNumberPath = Annotated[
    str,
    Path(pattern=CASE_NUMBER_PATTERN, description="NVC case number, e.g. NRB2024123456"),
]


def current_desk(request: Request) -> Desk:
    return request.app.state.desk


DeskDependency = Annotated[Desk, Depends(current_desk)]


def create_app(desk: Desk | None = None, settings: Settings | None = None) -> FastAPI:
    """The app; tests hand it a Desk, `make run` lets it connect from the environment."""

    configured = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if desk is None:
            app.state.desk = Desk(await connect(configured), configured)
        yield
        app.state.console.close()

    app = FastAPI(
        title="Reschedule desk",
        summary="Missed-appointment reschedule requests of an Immigrant Visa unit",
        lifespan=lifespan,
    )
    if desk is not None:
        app.state.desk = desk
    # The officer console: its pages at /, beside the API (reschedule_desk/console/).
    app.state.console = ConsoleState(configured)
    app.include_router(console_router)
    # Temporal's UI decodes payloads here, for signed-in officers and auditors only.
    install_codec_endpoint(app, EncryptionCodec(load_payload_keys(configured)))

    schema_without_posts = app.openapi

    def schema_with_posts() -> dict:
        """The schema names the posts this desk serves (posts are configuration)."""
        if app.openapi_schema is None:
            schema = schema_without_posts()
            request_schema = schema.get("components", {}).get("schemas", {}).get("RescheduleRequest")
            if request_schema is not None:
                request_schema["properties"]["post"]["enum"] = sorted(configured.posts.posts)
        return app.openapi_schema

    app.openapi = schema_with_posts

    refusals = {
        404: {"description": "No request for this case"},
        409: {"description": "The action is not allowed in the request's current state"},
    }

    @app.exception_handler(StarletteHTTPException)
    async def unreadable_body(request: Request, error: StarletteHTTPException) -> JSONResponse:
        # FastAPI answers a body that is not even text (not UTF-8) with a bare 400; say
        # what is wrong, as for any other body that is not JSON.
        if error.status_code == 400 and error.detail == "There was an error parsing the body":
            return JSONResponse(
                status_code=422,
                content={
                    "detail": [
                        {"loc": ["body"], "msg": "the body must be JSON, encoded in UTF-8", "type": "json_invalid"}
                    ]
                },
            )
        return await http_exception_handler(request, error)

    @app.exception_handler(CaseNotFound)
    async def case_not_found(request: Request, error: CaseNotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(error)})

    @app.exception_handler(ActionRefused)
    async def action_refused(request: Request, error: ActionRefused) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(error)})

    @app.post(
        "/api/requests",
        status_code=status.HTTP_201_CREATED,
        responses={409: {"description": "The case already has a request in progress"}},
    )
    async def submit_request(reschedule_request: RescheduleRequest, desk: DeskDependency) -> RequestStatus:
        try:
            return await desk.submit(reschedule_request)
        except UnknownPost as error:
            raise HTTPException(
                status_code=422,
                detail=[{"loc": ["body", "post"], "msg": str(error), "type": "unknown_post"}],
            ) from None
        except RequestAlreadyOpen as error:
            raise HTTPException(status_code=409, detail=str(error)) from None

    @app.get("/api/requests/{case_number}", responses={404: refusals[404]})
    async def request_status(case_number: CaseNumberPath, desk: DeskDependency) -> RequestStatus:
        return await desk.status(case_number)

    @app.post("/api/requests/{case_number}/approve", responses=refusals)
    async def approve(case_number: CaseNumberPath, approval: Approval, desk: DeskDependency) -> RequestStatus:
        return await desk.act(case_number, "approve", approval)

    @app.post("/api/requests/{case_number}/deny", responses=refusals)
    async def deny(case_number: CaseNumberPath, denial: Denial, desk: DeskDependency) -> RequestStatus:
        return await desk.act(case_number, "deny", denial)

    @app.post("/api/requests/{case_number}/request-info", responses=refusals)
    async def request_info(
        case_number: CaseNumberPath, info_request: InfoRequest, desk: DeskDependency
    ) -> RequestStatus:
        return await desk.act(case_number, "request_info", info_request)

    @app.post("/api/requests/{case_number}/provide-info", responses=refusals)
    async def provide_info(
        case_number: CaseNumberPath, info: InfoProvided, desk: DeskDependency
    ) -> RequestStatus:
        return await desk.act(case_number, "provide_info", info)

    @app.post("/api/requests/{case_number}/withdraw", responses=refusals)
    async def withdraw(
        case_number: CaseNumberPath, withdrawal: Withdrawal, desk: DeskDependency
    ) -> RequestStatus:
        return await desk.act(case_number, "withdraw", withdrawal)

    return app
