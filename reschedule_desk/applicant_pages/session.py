"""The applicant's session: a signed cookie of its own, and the sign-in with the case
number and the applicant secret.

The cookie holds the request id and the case number the secret was checked against, and
the CSRF token its forms send back; never the secret, which travels once, in the sign-in
form's body (no URL, no log line). Signed with the console's key (Settings.session_secret)
but under a salt of its own, so neither cookie passes for the other.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from reschedule_desk.callers import check_throttle, refuse_invalid
from reschedule_desk.console.security import CsrfRejected
from reschedule_desk.desk import CaseNotFound, Desk
from reschedule_desk.domain.request import CASE_NUMBER_PATTERN

APPLICANT_COOKIE = "applicant_session"
COOKIE_PATH = "/applicant"
# Long enough to choose an appointment, book it and print the confirmation.
SESSION_MAX_AGE_SECONDS = 60 * 60
_CASE_NUMBER = re.compile(CASE_NUMBER_PATTERN)


@dataclass
class ApplicantSession:
    """What the cookie carries. `changed` says the response must send it again."""

    csrf_token: str
    request_id: str | None = None
    case_number: str | None = None
    changed: bool = False

    @classmethod
    def new(cls) -> ApplicantSession:
        return cls(csrf_token=secrets.token_urlsafe(32), changed=True)

    @property
    def signed_in(self) -> bool:
        return self.request_id is not None and self.case_number is not None

    def sign_in(self, request_id: str, case_number: str) -> None:
        # A fresh token on sign-in: one learnt before it is worth nothing after.
        self.csrf_token = secrets.token_urlsafe(32)
        self.request_id, self.case_number, self.changed = request_id, case_number, True

    def sign_out(self) -> None:
        self.csrf_token = secrets.token_urlsafe(32)
        self.request_id = self.case_number = None
        self.changed = True

    def check_csrf(self, submitted: str | None) -> None:
        if not submitted or not hmac.compare_digest(submitted, self.csrf_token):
            raise CsrfRejected("this form has expired; reload the page and try again")


class ApplicantCookies:
    """Reads and writes ApplicantSession into the signed cookie."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="reschedule-desk.applicant.session")

    def load(self, cookie: str | None) -> ApplicantSession:
        """The session in `cookie`; a new, anonymous one when it is missing, expired or forged."""
        if cookie:
            try:
                data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE_SECONDS)
                return ApplicantSession(csrf_token=data["c"], request_id=data.get("r"), case_number=data.get("n"))
            except (BadSignature, KeyError, TypeError):
                pass
        return ApplicantSession.new()

    def dump(self, session: ApplicantSession) -> str:
        data: dict[str, str] = {"c": session.csrf_token}
        if session.signed_in:
            data.update(r=session.request_id, n=session.case_number)
        return self._serializer.dumps(data)


class SignInRefused(Exception):
    """The case number and secret do not match a request, or this address has tried too
    often: one wording for every cause, and the status code the page answers with."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


WRONG_PAIR = "The case number or the secret code is not right. Check both in the acknowledgement email and try again."
TOO_MANY = "Too many wrong attempts from this computer. Try again in 15 minutes."


async def checked_request_id(request: Request, desk: Desk, case_number: str, secret: str) -> str:
    """The id of the case's latest request, when `secret` is its applicant secret; else
    SignInRefused. Wrong pairs count against the caller's address with the API's invalid
    applicant secrets (callers.refuse_invalid): one slowdown for both ways in."""
    try:
        check_throttle(request)
    except HTTPException:
        raise SignInRefused(TOO_MANY, 429) from None
    request_id = None
    if _CASE_NUMBER.fullmatch(case_number):
        try:
            request_id = await desk.request_id(case_number)
        except CaseNotFound:
            pass  # an unknown case is as wrong as a wrong secret, and says so the same way
    if request_id is not None and request.app.state.applicant_secrets.matches(request_id, secret):
        return request_id
    try:
        refuse_invalid(request, "the applicant secret")
    except HTTPException:  # that failure was one too many
        raise SignInRefused(TOO_MANY, 429) from None
    raise SignInRefused(WRONG_PAIR, 401)
