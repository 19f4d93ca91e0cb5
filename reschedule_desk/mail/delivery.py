"""Hand a rendered email over: to an SMTP relay in production, to .eml files on a laptop.

Both transports take the outbox's message key with the message. The key makes a retry
harmless: the file sink writes a key once, and the Message-ID (derived from the key) lets
the receiving side recognise a duplicate if an SMTP retry ever sends one again (after
a connection lost between the server's "250" and our reading it).

Errors are sorted for the caller, a Temporal activity: `PermanentRefusal` (a 5xx answer
about this message) will never succeed and should be recorded as refused. Everything else
is worth retrying with backoff: `TemporaryRefusal` (a 4xx answer), connection errors
(OSError) and the rest of smtplib's errors, which raise as they are.
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from reschedule_desk.applicant_secrets import MARKER
from reschedule_desk.settings import Settings

# One sender for every post: no-reply, since applicants write to the post through its
# inquiry form. build_message takes another one.
DEFAULT_SENDER = "IV Reschedule Desk <no-reply@reschedule-desk.example.gov>"
SMTP_TIMEOUT_SECONDS = 30.0
INVITATION_FILENAME = "appointment.ics"

# Letters, digits, "-", "_" and inner dots: fits a file name and a Message-ID as it is.
_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")


class QueuedEmail(Protocol):
    """What an email needs to be sent: an outbox row (storage.tables.OutboxMessage) has it."""

    message_key: str
    request_id: str
    recipient: str
    subject: str
    text_body: str
    html_body: str | None
    created_at: datetime
    # invitation: str | None, the appointment's .ics (mail/invitation.py). Read with getattr:
    # rows and stand-ins of emails that carry none may not have it.


def key_token(message_key: str) -> str:
    """The message key as a file name and a Message-ID local part. A key that is already
    safe is kept as it is, so a person can match a file to its outbox row; any other key
    is made safe and given a hash of the original, so two keys never share a token."""
    if len(message_key) <= 200 and _SAFE_KEY.match(message_key):
        return message_key
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", message_key).strip("-")[:100] or "message"
    digest = hashlib.sha256(message_key.encode("utf-8")).hexdigest()[:16]
    return f"{readable}-{digest}"


def message_id_for(message_key: str, sender: Address) -> str:
    return f"<{key_token(message_key)}@{sender.domain or 'localhost'}>"


def build_message(
    queued: QueuedEmail, sender: Address | str = DEFAULT_SENDER, applicant_secret: str | None = None
) -> EmailMessage:
    """multipart/alternative (text, then HTML), or text alone when there is no HTML part;
    inside multipart/mixed with the appointment.ics when the email carries an invitation.
    Everything comes from the queued email, Date included (when it was queued), so every
    retry builds the very same message with the same Message-ID. `applicant_secret`
    takes the place of the marker the outbox holds (reschedule_desk/applicant_secrets.py)."""
    if isinstance(sender, str):
        sender = _parse_address(sender)

    def as_sent(body: str) -> str:
        return body.replace(MARKER, applicant_secret) if applicant_secret else body

    message = EmailMessage()
    message["From"] = sender
    message["To"] = queued.recipient
    message["Subject"] = queued.subject
    message["Date"] = format_datetime(_as_utc(queued.created_at))
    message["Message-ID"] = message_id_for(queued.message_key, sender)
    # RFC 3834: tells auto-responders (out-of-office) not to answer a no-reply sender.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(as_sent(queued.text_body))
    if queued.html_body:
        message.add_alternative(as_sent(queued.html_body), subtype="html")
    invitation = getattr(queued, "invitation", None)
    if invitation:
        # As bytes (base64): the CRLF line ends RFC 5545 asks for arrive as written.
        message.add_attachment(
            invitation.encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename=INVITATION_FILENAME,
            params={"method": _calendar_method(invitation), "charset": "utf-8"},
        )
    return message


def _calendar_method(calendar: str) -> str:
    """The calendar's METHOD (PUBLISH or CANCEL), which its Content-Type repeats (RFC 6047)."""
    for line in calendar.splitlines():
        if line.startswith("METHOD:"):
            return line.removeprefix("METHOD:").strip()
    return "PUBLISH"


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; the desk stores UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse_address(value: str) -> Address:
    probe = EmailMessage()
    probe["From"] = value
    addresses = probe["From"].addresses
    if len(addresses) != 1:
        raise ValueError(f"the sender must be one address, not {value!r}")
    return addresses[0]


class MailTransport(Protocol):
    def deliver(self, message_key: str, message: EmailMessage) -> None: ...


class DeliveryError(Exception):
    """The mail server answered with a refusal; the message says its code, without addresses."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{code} {detail}")
        self.code = code
        self.detail = detail


class PermanentRefusal(DeliveryError):
    """A 5xx answer about this message: sending it again will not help."""


class TemporaryRefusal(DeliveryError):
    """A 4xx answer (mailbox busy, greylisting, server short of space): retry later."""


@dataclass(frozen=True)
class FileSink:
    """The local mail sink: one <mail_dir>/<message key>.eml per email, written once."""

    mail_dir: Path

    def path_for(self, message_key: str) -> Path:
        return Path(self.mail_dir) / f"{key_token(message_key)}.eml"

    def deliver(self, message_key: str, message: EmailMessage) -> None:
        target = self.path_for(message_key)
        if target.exists():
            return  # sent already by an earlier attempt: a retry never writes twice
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename: a reader (or a crash) never sees half a file.
        # The dot keeps the temporary file out of a *.eml listing.
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(message.as_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); not possible on every platform."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


class SmtpTransport:
    """Real SMTP. smtp_url: smtp://host[:port] or smtps://host[:port], optionally with
    user:password@ and ?starttls=true (smtp:// only). Ports default to 25 and 465."""

    def __init__(self, smtp_url: str, timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        parts = urlsplit(smtp_url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("SMTP_URL must name a host, e.g. smtp://mail.example.gov:25")
        starttls = parse_qs(parts.query).get("starttls", ["false"])[-1].lower()
        self.host = parts.hostname
        self.use_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.use_tls else 25)
        self.starttls = starttls in ("1", "true", "yes")
        if self.starttls and self.use_tls:
            raise ValueError("SMTP_URL: starttls is for smtp://; smtps:// is TLS from the start")
        self.username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def __repr__(self) -> str:  # never the password
        scheme = "smtps" if self.use_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        return f"SmtpTransport({scheme}://{user}{self.host}:{self.port}, starttls={self.starttls})"

    def deliver(self, message_key: str, message: EmailMessage) -> None:
        # Connection errors (refused, timeout, reset) are OSError and raise as they are, for
        # the caller to retry. So do a failed login and a refused greeting: they are about
        # our setup or the server, not about this message, and succeed once fixed.
        connection = self._connect()
        try:
            if self.starttls:
                connection.starttls(context=ssl.create_default_context())
            if self.username:
                connection.login(self.username, self._password or "")
            try:
                refused = connection.send_message(message)
            except smtplib.SMTPRecipientsRefused as error:
                # Every recipient refused. Final only if no refusal was temporary.
                answers = list(error.recipients.values())
                code, reply = ([a for a in answers if a[0] < 500] or answers)[0]
                raise _refusal(code, reply) from None  # `from None`: the cause names addresses
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
                raise _refusal(error.smtp_code, error.smtp_error) from None
            if refused:
                # Some recipients took it and others refused: sending again would duplicate
                # it for the first ones, so this is final.
                code, reply = next(iter(refused.values()))
                raise PermanentRefusal(code, _scrub(reply))
        finally:
            _close_quietly(connection)

    def _connect(self) -> smtplib.SMTP:
        if self.use_tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


def _refusal(code: int, reply: bytes | str) -> DeliveryError:
    if 500 <= code < 600:
        return PermanentRefusal(code, _scrub(reply))
    return TemporaryRefusal(code, _scrub(reply))


_ADDRESS = re.compile(r"[^\s<>@:;,\"']+@[^\s<>@:;,\"']+")


def _scrub(reply: bytes | str) -> str:
    """The server's reply without email addresses: it ends up in logs and workflow history."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return _ADDRESS.sub("<address>", text)


def _close_quietly(connection: smtplib.SMTP) -> None:
    """QUIT after the message was accepted must not fail the delivery: a retry would send
    it twice. A server that answers QUIT badly or hangs up is simply closed."""
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


def transport_from_settings(settings: Settings) -> MailTransport:
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url)
    return FileSink(settings.mail_dir)
