"""Who is calling the JSON API and the codec endpoint: FastAPI dependencies that turn a
credential into a caller, or refuse.

Three kinds of caller, each declared as a security scheme in the OpenAPI schema:
- staff (officers, supervisors, auditors): `Authorization: Bearer <token>` of their
  account (`reschedule users token`); what they may do is the console's permission table;
- intake clients (the scheduling site): `Authorization: Bearer <token>` of the client
  (`reschedule clients add`); they submit requests and act for applicants;
- the applicant: the secret of their own request (reschedule_desk/applicant_secrets.py),
  as `X-Applicant-Secret: <secret>` or `Authorization: Bearer <secret>`.

No credential: 401 with `WWW-Authenticate: Bearer`. A credential that is not valid
(mistyped, revoked, expired, of a disabled account, or another request's secret): 401, and
it counts towards the slowdown of that address, as failed sign-ins do: past the limit, an
address gets 429 for every invalid credential, and its applicant secrets are not even
checked. Valid tokens still work from it: they are 256 random bits, nothing to guess, and
the scheduling site may share an address with whoever probes. A valid credential of the
wrong kind, role or post: 403 naming what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from reschedule_desk.console.access import Principal
from reschedule_desk.storage import tokens
from reschedule_desk.storage.tokens import TokenHolder

APPLICANT_SECRET_HEADER = "X-Applicant-Secret"

staff_token = HTTPBearer(
    scheme_name="StaffToken",
    description="An officer's, supervisor's or auditor's token: `reschedule users token NAME`.",
    auto_error=False,
)
intake_token = HTTPBearer(
    scheme_name="IntakeClientToken",
    description="The scheduling site's token: `reschedule clients add NAME`.",
    auto_error=False,
)
applicant_secret_header = APIKeyHeader(
    name=APPLICANT_SECRET_HEADER,
    scheme_name="ApplicantSecret",
    description="The secret of one request, from its acknowledgement email (also accepted as a Bearer token).",
    auto_error=False,
)


class CredentialRefused(HTTPException):
    """401: no credential, or one that is not valid. Says which, never why a token failed."""

    def __init__(self, detail: str, invalid: bool = False) -> None:
        challenge = 'Bearer error="invalid_token"' if invalid else "Bearer"
        super().__init__(status_code=401, detail=detail, headers={"WWW-Authenticate": challenge})


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def check_throttle(request: Request) -> None:
    """429 while this address has failed too many credentials lately."""
    retry_after = request.app.state.console.credential_throttle.retry_after(_client_address(request))
    if retry_after > 0:
        raise HTTPException(
            status_code=429,
            detail="too many invalid credentials from this address: try again later",
            headers={"Retry-After": str(int(retry_after) + 1)},
        )


def refuse_invalid(request: Request, what: str) -> HTTPException:
    """The refusal of an invalid credential, counted against the caller's address."""
    request.app.state.console.credential_throttle.failed(_client_address(request))
    check_throttle(request)
    return CredentialRefused(f"{what} is not valid: it is mistyped, revoked or expired", invalid=True)


def token_holder(request: Request, token: str) -> TokenHolder:
    """Who holds a Bearer token; 401 (counted) when nobody does."""
    console = request.app.state.console
    with console.sessions.begin() as db:
        holder = tokens.token_holder(db, token, console.clock())
    if holder is None:
        raise refuse_invalid(request, "the token")
    return holder


async def _bearer_holder(
    request: Request, credentials: HTTPAuthorizationCredentials | None, needed: str
) -> TokenHolder:
    if credentials is None:
        raise CredentialRefused(f"this route needs {needed}: Authorization: Bearer <token>")
    return await run_in_threadpool(token_holder, request, credentials.credentials)


async def staff_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(staff_token)]
) -> Principal:
    """The staff account of the Bearer token, as the access rules see it."""
    holder = await _bearer_holder(request, credentials, "a staff token")
    if holder.principal is None:
        raise HTTPException(status_code=403, detail="an intake client's token cannot do this: it needs a staff token")
    return holder.principal


async def intake_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(intake_token)]
) -> str:
    """The name of the intake client whose Bearer token this is."""
    holder = await _bearer_holder(request, credentials, "an intake client's token")
    if holder.intake_client is None:
        raise HTTPException(
            status_code=403, detail="staff tokens do not submit requests: that is the intake client's (the scheduling site)"
        )
    return holder.intake_client


@dataclass(frozen=True)
class ApplicantSide:
    """A caller allowed on the applicant's routes: an intake client (any request), or the
    holder of one request's secret (`secret`, checked against that request by the route)."""

    intake_client: str | None = None
    secret: str | None = None


async def applicant_side_caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(intake_token)],
    secret: Annotated[str | None, Depends(applicant_secret_header)],
) -> ApplicantSide:
    """An intake client's token, or an applicant secret (header or Bearer); a secret is
    only checked by the route, which knows the request."""
    if secret:
        check_throttle(request)
        return ApplicantSide(secret=secret)
    if bearer is None:
        raise CredentialRefused(
            f"this route needs the applicant's secret ({APPLICANT_SECRET_HEADER}) or an intake client's token"
        )
    if not bearer.credentials.startswith(f"{tokens.TOKEN_PREFIX}."):
        check_throttle(request)
        return ApplicantSide(secret=bearer.credentials)
    holder = await run_in_threadpool(token_holder, request, bearer.credentials)
    if holder.intake_client is None:
        raise HTTPException(
            status_code=403, detail="staff tokens do not act for the applicant: this route is the applicant's"
        )
    return ApplicantSide(intake_client=holder.intake_client)


StaffCaller = Annotated[Principal, Depends(staff_caller)]
IntakeCaller = Annotated[str, Depends(intake_caller)]
ApplicantSideCaller = Annotated[ApplicantSide, Depends(applicant_side_caller)]
