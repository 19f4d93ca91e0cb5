"""The console's web security: the signed session cookie, CSRF tokens, security headers,
and the slowdown of sign-ins from one address.

The session lives in the cookie, signed (itsdangerous) so it cannot be forged or edited:
the account id, the account's session version (raised on sign-out and disable, which ends
every cookie issued before) and the CSRF token every form must send back.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "desk_session"
# A working day and then some: an officer signs in once a day.
SESSION_MAX_AGE_SECONDS = 12 * 60 * 60
CSRF_FIELD = "csrf_token"

# Every console page: nothing from elsewhere, no inline script or style, no framing but
# our own email previews, and no caching of pages that hold applicants' data.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}
# An email's HTML as the applicant saw it: its inline styles, nothing else, in a sandbox,
# framed only by the console's own request page.
EMAIL_PREVIEW_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox",
    "X-Frame-Options": "SAMEORIGIN",
}


class CsrfRejected(Exception):
    """A form came without the session's CSRF token."""


@dataclass
class ConsoleSession:
    """What the cookie carries. `changed` says the response must send it again."""

    csrf_token: str
    account_id: int | None = None
    session_version: int | None = None
    changed: bool = False

    @classmethod
    def new(cls) -> ConsoleSession:
        return cls(csrf_token=secrets.token_urlsafe(32), changed=True)

    def sign_in(self, account_id: int, session_version: int) -> None:
        # A fresh token on sign-in: one learnt before it is worth nothing after.
        self.csrf_token = secrets.token_urlsafe(32)
        self.account_id, self.session_version, self.changed = account_id, session_version, True

    def sign_out(self) -> None:
        self.csrf_token = secrets.token_urlsafe(32)
        self.account_id = self.session_version = None
        self.changed = True

    def check_csrf(self, submitted: str | None) -> None:
        if not submitted or not hmac.compare_digest(submitted, self.csrf_token):
            raise CsrfRejected("this form has expired or did not come from the console; reload the page and try again")


class SessionCookies:
    """Reads and writes ConsoleSession into the signed cookie."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="reschedule-desk.console.session")

    def load(self, cookie: str | None) -> ConsoleSession:
        """The session in `cookie`; a new, anonymous one when it is missing, expired or forged."""
        if cookie:
            try:
                data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE_SECONDS)
                return ConsoleSession(csrf_token=data["c"], account_id=data.get("a"), session_version=data.get("v"))
            except (BadSignature, KeyError, TypeError):
                pass
        return ConsoleSession.new()

    def dump(self, session: ConsoleSession) -> str:
        data: dict[str, object] = {"c": session.csrf_token}
        if session.account_id is not None:
            data.update(a=session.account_id, v=session.session_version)
        return self._serializer.dumps(data)


@dataclass
class SignInThrottle:
    """A slowdown per client address: after `limit` failed sign-ins within `window`
    seconds, that address may not try again until the oldest failure leaves the window.

    Against guessing across many names; the account lock-out (storage.accounts) guards
    each account. In memory, per web process.
    """

    limit: int = 20
    window: float = 15 * 60
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, address: str) -> float:
        """Seconds until `address` may try again; 0 when it may now."""
        with self._lock:
            failures = self._recent(address)
            if len(failures) < self.limit:
                return 0.0
            return failures[0] + self.window - self.clock()

    def failed(self, address: str) -> None:
        with self._lock:
            self._recent(address)
            self._failures.setdefault(address, deque()).append(self.clock())

    def _recent(self, address: str) -> deque[float]:
        failures = self._failures.get(address, deque())
        while failures and failures[0] <= self.clock() - self.window:
            failures.popleft()
        if not failures:
            # Memory stays bounded by the addresses failing now.
            self._failures.pop(address, None)
        return failures
