"""The JSON API: applicants' requests come in here, and the same actions as the CLI.

Every route needs a credential (reschedule_desk/callers.py): the scheduling site's intake
token submits; staff tokens read and act, under the console's permission table; the
applicant's secret (or the intake token) reads the applicant's status, answers and
withdraws. The actor a decision records is the token's account, never a field of the body.

OpenAPI at /openapi.json. Errors are specific: 401 no or no valid credential, 403 the
role or post that is missing, 422 names the field, 409 repeats the workflow validator's
reason, 404 names the case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from reschedule_desk.applicant_pages.routes import router as applicant_router
from reschedule_desk.applicant_secrets import ApplicantSecrets, applicant_secrets
from reschedule_desk.authorization import NotAnAssignee, authorize_action, post_of_request
from reschedule_desk.callers import ApplicantSide, ApplicantSideCaller, IntakeCaller, StaffCaller, refuse_invalid
from reschedule_desk.codec import EncryptionCodec, load_payload_keys
from reschedule_desk.codec_server import install_codec_endpoint
from reschedule_desk.console.access import Forbidden, Permission, Principal, require
from reschedule_desk.console.routes import ConsoleState
from reschedule_desk.console.routes import router as console_router
from reschedule_desk.desk import ActionRefused, CaseNotFound, Desk, RequestAlreadyOpen
from reschedule_desk.domain.appointments import BOOKING_HORIZON
from reschedule_desk.domain.decisions import (
    ApprovalBody,
    AssignmentBody,
    AttendanceBody,
    BookingCancellation,
    BookingChoice,
    ClaimBody,
    DenialBody,
    InfoProvided,
    InfoRequestBody,
    WindowExtensionBody,
    Withdrawal,
)
from reschedule_desk.domain.lifecycle import ApplicantStatus, OpenSlot, OpenSlots, RequestState, RequestStatus, SubmittedRequest
from reschedule_desk.domain.posts import UnknownPost
from reschedule_desk.domain.request import CASE_NUMBER_PATTERN, RescheduleRequest
from reschedule_desk.settings import Settings
from reschedule_desk.storage import appointment_book, repository
from reschedule_desk.temporal import connect

CaseNumberPath = Annotated[
    str,
    Path(pattern=CASE_NUMBER_PATTERN, description="NVC case number, e.g. NRB2024123456"),
]


def current_desk(request: Request) -> Desk:
    return request.app.state.desk


def applicant_secrets_of(request: Request) -> ApplicantSecrets:
    return request.app.state.applicant_secrets


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
    app.state.applicant_secrets = applicant_secrets(configured)
    # The officer console: its pages at /, beside the API (reschedule_desk/console/).
    app.state.console = ConsoleState(configured)
    app.include_router(console_router)
    app.include_router(applicant_router)  # the applicant's pages at /applicant
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
    credential_refusals = {
        401: {"description": "No credential, or one that is not valid (mistyped, revoked, expired)"},
        403: {"description": "The credential's role or post may not do this; the answer says which"},
        429: {"description": "Too many invalid credentials from this address lately"},
    }
    staff_refusals = {**refusals, **credential_refusals}

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

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> JSONResponse:
        return JSONResponse(status_code=403, content={"detail": str(error)})

    @app.exception_handler(NotAnAssignee)
    async def not_an_assignee(request: Request, error: NotAnAssignee) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={"detail": [{"loc": ["body", "assignee"], "msg": str(error), "type": "not_an_assignee"}]},
        )

    async def staff_action(
        request: Request, principal: Principal, case_number: str, action: str, decision: BaseModel,
        assignee: str | None = None,
    ) -> RequestStatus:
        """The console's gate (authorization.py) at the request's post, then the Update, sent
        as the token's account. The post is the app database's (one read, beside the gate's
        own), or the workflow's while screening has not written the request's row yet: a
        status query costs the worker a workflow task, which made up most of a decision's
        time through the API (bench/, item 2)."""
        desk = current_desk(request)

        def authorize(post: str | None) -> bool:
            with request.app.state.console.sessions() as db:
                if post is None:
                    try:
                        post = post_of_request(db, case_number)
                    except CaseNotFound:
                        return False
                authorize_action(db, principal, post, action, assignee)
                return True

        if not await run_in_threadpool(authorize, None):
            await run_in_threadpool(authorize, (await desk.status(case_number)).post)
        return await desk.act(case_number, action, decision)

    async def request_of(request: Request, caller: ApplicantSide, case_number: str) -> str:
        """The id of the request the applicant-side caller may act on: the case's latest, if
        the caller is an intake client or holds that request's secret."""
        desk = current_desk(request)
        if caller.intake_client is not None:
            return await desk.request_id(case_number)
        try:
            request_id = await desk.request_id(case_number)
        except CaseNotFound:
            request_id = None  # a secret for no request is as wrong as one for another request
        if request_id is None or not applicant_secrets_of(request).matches(request_id, caller.secret or ""):
            raise refuse_invalid(request, "the applicant secret")
        return request_id

    @app.post(
        "/api/requests",
        status_code=status.HTTP_201_CREATED,
        responses={**credential_refusals, 409: {"description": "The case already has a request in progress"}},
    )
    async def submit_request(
        reschedule_request: RescheduleRequest, desk: DeskDependency, intake_client: IntakeCaller, request: Request
    ) -> SubmittedRequest:
        """An applicant's request, from the scheduling site. The answer carries the request's
        applicant secret, this once; the acknowledgement email carries it too."""
        try:
            submitted, request_id = await desk.submit(reschedule_request)
        except UnknownPost as error:
            raise HTTPException(
                status_code=422,
                detail=[{"loc": ["body", "post"], "msg": str(error), "type": "unknown_post"}],
            ) from None
        except RequestAlreadyOpen as error:
            raise HTTPException(status_code=409, detail=str(error)) from None
        secret = applicant_secrets_of(request).for_request(request_id)
        return SubmittedRequest(**submitted.model_dump(), applicant_secret=secret)

    @app.get("/api/requests/{case_number}", responses={**credential_refusals, 404: refusals[404]})
    async def request_status(case_number: CaseNumberPath, desk: DeskDependency, principal: StaffCaller) -> RequestStatus:
        """The whole status, for staff who may read requests of its post."""
        found = await desk.status(case_number)
        require(principal, Permission.VIEW_REQUEST, found.post)
        return found

    @app.get("/api/requests/{case_number}/applicant-status", responses={**credential_refusals, 404: refusals[404]})
    async def applicant_status(
        case_number: CaseNumberPath, desk: DeskDependency, caller: ApplicantSideCaller, request: Request
    ) -> ApplicantStatus:
        """The status as the applicant sees it: no staff names, assignments or internal notes."""
        await request_of(request, caller, case_number)
        return ApplicantStatus.of(await desk.status(case_number))

    @app.post("/api/requests/{case_number}/approve", responses=staff_refusals)
    async def approve(
        case_number: CaseNumberPath, approval: ApprovalBody, principal: StaffCaller, request: Request
    ) -> RequestStatus:
        return await staff_action(request, principal, case_number, "approve", approval.decision(principal.name))

    @app.post("/api/requests/{case_number}/deny", responses=staff_refusals)
    async def deny(case_number: CaseNumberPath, denial: DenialBody, principal: StaffCaller, request: Request) -> RequestStatus:
        return await staff_action(request, principal, case_number, "deny", denial.decision(principal.name))

    @app.post("/api/requests/{case_number}/request-info", responses=staff_refusals)
    async def request_info(
        case_number: CaseNumberPath, info_request: InfoRequestBody, principal: StaffCaller, request: Request
    ) -> RequestStatus:
        return await staff_action(request, principal, case_number, "request_info", info_request.decision(principal.name))

    @app.post("/api/requests/{case_number}/claim", responses=staff_refusals)
    async def claim(
        case_number: CaseNumberPath, principal: StaffCaller, request: Request, body: ClaimBody | None = None
    ) -> RequestStatus:
        """The calling officer takes the request to work on."""
        return await staff_action(request, principal, case_number, "claim", (body or ClaimBody()).decision(principal.name))

    @app.post("/api/requests/{case_number}/assign", responses=staff_refusals)
    async def assign(
        case_number: CaseNumberPath, assignment: AssignmentBody, principal: StaffCaller, request: Request
    ) -> RequestStatus:
        """A supervisor gives the request to an officer of its post."""
        return await staff_action(
            request, principal, case_number, "assign", assignment.decision(principal.name), assignment.assignee
        )

    @app.post("/api/requests/{case_number}/extend-window", responses=staff_refusals)
    async def extend_window(
        case_number: CaseNumberPath, extension: WindowExtensionBody, principal: StaffCaller, request: Request
    ) -> RequestStatus:
        """A supervisor moves the current window's end by some business days."""
        return await staff_action(request, principal, case_number, "extend_window", extension.decision(principal.name))

    @app.post("/api/requests/{case_number}/provide-info", responses=staff_refusals)
    async def provide_info(
        case_number: CaseNumberPath, info: InfoProvided, caller: ApplicantSideCaller, request: Request
    ) -> ApplicantStatus:
        """The applicant's answer to an information request."""
        request_id = await request_of(request, caller, case_number)
        return ApplicantStatus.of(await current_desk(request).act(case_number, "provide_info", info, request_id))

    @app.post("/api/requests/{case_number}/withdraw", responses=staff_refusals)
    async def withdraw(
        case_number: CaseNumberPath, withdrawal: Withdrawal, caller: ApplicantSideCaller, request: Request
    ) -> ApplicantStatus:
        """The applicant no longer wants the reschedule."""
        request_id = await request_of(request, caller, case_number)
        return ApplicantStatus.of(await current_desk(request).act(case_number, "withdraw", withdrawal, request_id))

    @app.get("/api/requests/{case_number}/open-slots", responses={**credential_refusals, 404: refusals[404]})
    async def open_slots(
        case_number: CaseNumberPath, caller: ApplicantSideCaller, request: Request
    ) -> OpenSlots:
        """The appointments the request's applicants can still book together: open, with a
        seat for each of them, before the post's closing time. None: check again later."""
        request_id = await request_of(request, caller, case_number)
        found = await current_desk(request).status(case_number)
        post = configured.posts.post(found.post)
        now = datetime.now(UTC)
        today = now.astimezone(post.zone).date()
        last_day = today + BOOKING_HORIZON

        def offered() -> list[OpenSlot]:
            # The console's calendars, built once per post and span of years.
            calendar = request.app.state.console.calendars.covering(post.code, today, last_day)
            with request.app.state.console.sessions() as db:
                seats = len(repository.load_request(db, request_id).applicants)  # all in one appointment
                return [
                    OpenSlot(day=slot.day, time=slot.time, seats_left=slot.seats_left)
                    for slot in appointment_book.bookable_slots(db, post, calendar, seats, now, last_day)
                ]

        slots = await run_in_threadpool(offered) if found.status.is_booking else []
        return OpenSlots(
            status=found.status,
            book_by=found.window_ends_at if found.status is RequestState.AWAITING_BOOKING else None,
            slots=slots,
            message=None if slots else (
                f"There are no appointments available. Please check again in {post.no_slots_retry_hours} hours."
            ),
        )

    async def applicant_action(
        request: Request, caller: ApplicantSide, case_number: str, action: str, decision: BaseModel
    ) -> ApplicantStatus:
        request_id = await request_of(request, caller, case_number)
        return ApplicantStatus.of(await current_desk(request).act(case_number, action, decision, request_id))

    @app.post("/api/requests/{case_number}/book", responses=staff_refusals)
    async def book(
        case_number: CaseNumberPath, choice: BookingChoice, caller: ApplicantSideCaller, request: Request
    ) -> ApplicantStatus:
        """Book one of the open appointments for every applicant of the request."""
        return await applicant_action(request, caller, case_number, "book", choice)

    @app.post("/api/requests/{case_number}/reschedule-booking", responses=staff_refusals)
    async def reschedule_booking(
        case_number: CaseNumberPath, choice: BookingChoice, caller: ApplicantSideCaller, request: Request
    ) -> ApplicantStatus:
        """Move the booked appointment to another open one, up to the post's notice."""
        return await applicant_action(request, caller, case_number, "reschedule_booking", choice)

    @app.post("/api/requests/{case_number}/cancel-booking", responses=staff_refusals)
    async def cancel_booking(
        case_number: CaseNumberPath, caller: ApplicantSideCaller, request: Request,
        cancellation: BookingCancellation | None = None,
    ) -> ApplicantStatus:
        """Give the booked appointment back, up to the post's notice; the booking window opens again."""
        return await applicant_action(request, caller, case_number, "cancel_booking", cancellation or BookingCancellation())

    @app.post("/api/requests/{case_number}/record-attendance", responses=staff_refusals)
    async def record_attendance(
        case_number: CaseNumberPath, attendance: AttendanceBody, principal: StaffCaller, request: Request
    ) -> RequestStatus:
        """An officer of the post records, on or after the appointment's day, whether the applicants came."""
        return await staff_action(request, principal, case_number, "record_attendance", attendance.decision(principal.name))

    return app
