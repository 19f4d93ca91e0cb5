"""The applicant's secret for one request: what lets the applicant, and only them, read
the request's status as they see it, answer an information request, or withdraw.

Nothing is stored. The secret is an HMAC of the request id (its workflow's first run id)
under a key derived from the desk's secret key (RESCHEDULE_SECRET_KEY), so the API checks
it by computing it again, and the worker writes it into the acknowledgement email only as
the message leaves for the mail server. The workflow history, the outbox table and the
console's email preview hold the MARKER in its place: no officer can read an applicant's
secret and act as the applicant.

Changing RESCHEDULE_SECRET_KEY ends every applicant secret given so far.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from reschedule_desk.settings import Settings

# Where a template puts the secret; replaced at delivery. Nothing HTML escapes.
MARKER = "[the applicant secret: sent to the applicant only]"


class ApplicantSecrets:
    def __init__(self, desk_secret_key: str) -> None:
        # A key of its own, so the secret tells nothing about the session cookies' key.
        self._key = hmac.new(desk_secret_key.encode(), b"reschedule-desk applicant secrets", hashlib.sha256).digest()

    def for_request(self, request_id: str) -> str:
        digest = hmac.new(self._key, request_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def matches(self, request_id: str, presented: str) -> bool:
        return hmac.compare_digest(self.for_request(request_id).encode(), presented.encode())

    def fill_in(self, body: str, request_id: str) -> str:
        """An email body as the applicant receives it: the marker replaced by the secret."""
        return body.replace(MARKER, self.for_request(request_id))


def applicant_secrets(settings: Settings) -> ApplicantSecrets:
    return ApplicantSecrets(settings.session_secret())
