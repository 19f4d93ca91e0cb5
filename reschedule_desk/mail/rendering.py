"""Turn one email order into a subject, a text body and an HTML body.

The wording lives in templates/email/ (three templates per EmailKind); this module only
decides which facts the templates see and how dates and times read to an applicant:
always in the post's local time zone, since that is the clock the post's rules use.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from reschedule_desk.applicant_secrets import MARKER as APPLICANT_SECRET_MARKER
from reschedule_desk.domain.appointments import Appointment, change_rule_text, closing_rule_text
from reschedule_desk.domain.lifecycle import RequestState, RuleOutcome
from reschedule_desk.domain.posts import Post
from reschedule_desk.domain.records import EmailKind, Recipient
from reschedule_desk.domain.self_reported import RequestInHistory
from reschedule_desk.settings import TEMPLATES_DIR

EMAIL_TEMPLATES_DIR = TEMPLATES_DIR / "email"

# Family and employment preference categories: visas are numerically limited, so a
# rescheduled interview may fall on a date when no visa is available (Phnom Penh's
# "IMPORTANT NOTICE"). Immediate relatives (IR, CR) have no such limit.
PREFERENCE_CATEGORIES = frozenset(
    {"F1", "F2A", "F2B", "F3", "F4", "E1", "E2", "E3", "EW", "E4", "E5"}
)


class WaitingWindow(StrEnum):
    """Which wait of the request a reminder or an expiry is about (see posts.Windows)."""

    REVIEW = "review"  # the post decides: reminders go to the IV unit
    ANSWER = "answer"  # the applicant answers an information request
    BOOKING = "booking"  # the applicant books the appointment after the approval

    @classmethod
    def of_state(cls, state: RequestState) -> WaitingWindow | None:
        """The window a request waits in while in `state` (the state it expired from)."""
        waits = {
            RequestState.PENDING_REVIEW: cls.REVIEW,
            RequestState.INFO_REQUESTED: cls.ANSWER,
            RequestState.AWAITING_BOOKING: cls.BOOKING,
        }
        return waits.get(state)


# The emails about an appointment, and those that send the applicant to the desk's pages
# to book, change or print it.
NEEDS_APPOINTMENT = frozenset({EmailKind.BOOKED, EmailKind.BOOKING_CANCELLED, EmailKind.MISSED})
NEEDS_APPLICANT_PAGES = frozenset(
    {EmailKind.APPROVED, EmailKind.BOOKING_REMINDER, EmailKind.BOOKED, EmailKind.BOOKING_CANCELLED}
)
NEEDS_WINDOW_END = frozenset(
    {EmailKind.INFO_REQUESTED, EmailKind.REMINDER, EmailKind.BOOKING_REMINDER, EmailKind.BOOKING_CANCELLED}
)


class EmailContext(BaseModel):
    """Everything one email says. Fields a kind needs are checked here, so a caller gets
    a clear error instead of an email with "None" in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request: RequestInHistory
    post: Post
    kind: EmailKind
    visa_class: str | None = Field(
        default=None, description="The case's class in the case file; approved and reminder emails name it."
    )
    recipient: Recipient = Recipient.APPLICANT
    note: str | None = Field(
        default=None,
        description="approved: the officer's note; denied: the officer's reason; "
        "info_requested and reminder: what the officer needs.",
    )
    failed_rules: list[RuleOutcome] = Field(default_factory=list)
    window_ends_at: AwareDatetime | None = Field(
        default=None,
        description="End of the window the email is about (answer, review or booking; "
        "booking_cancelled: the booking window opened again).",
    )
    window: WaitingWindow | None = Field(
        default=None,
        description="expired: which window ran out (WaitingWindow.of_state of the state it "
        "expired from); without it the email does not say. reminder: follows from the recipient.",
    )
    submitted_at: AwareDatetime | None = None
    approval_email_release_at: AwareDatetime | None = None
    business_days: int | None = Field(
        default=None,
        ge=0,
        description="acknowledgement: business days before any approval email; "
        "the post's approval_release_business_days when not given.",
    )
    appointment: Appointment | None = Field(
        default=None, description="booked, booking_cancelled, missed: the appointment the email is about."
    )
    applicant_pages_url: str | None = Field(
        default=None,
        description="The desk's pages for the applicant (Settings.public_url + /applicant), "
        "where they book, change and print the appointment.",
    )

    @model_validator(mode="after")
    def _what_each_kind_needs(self) -> EmailContext:
        kind = self.kind
        if self.request.post != self.post.code:
            raise ValueError(f"the request is for post {self.request.post!r}, not {self.post.code!r}")
        if self.recipient is Recipient.UNIT and kind is not EmailKind.REMINDER:
            raise ValueError(f"only reminders go to the IV unit, not {kind.value} emails")
        if kind is EmailKind.INELIGIBLE and not any(not r.passed for r in self.failed_rules):
            raise ValueError("an ineligible email needs at least one failed rule")
        if kind in (EmailKind.DENIED, EmailKind.INFO_REQUESTED) and not self.note:
            raise ValueError(f"a {kind.value} email needs the officer's note")
        if kind in NEEDS_WINDOW_END and self.window_ends_at is None:
            raise ValueError(f"a {kind.value} email needs window_ends_at")
        if kind in NEEDS_APPOINTMENT and self.appointment is None:
            raise ValueError(f"a {kind.value} email needs the appointment")
        if self.appointment is not None and self.appointment.post != self.post.code:
            raise ValueError(f"the appointment is at post {self.appointment.post!r}, not {self.post.code!r}")
        if kind in NEEDS_APPLICANT_PAGES and not self.applicant_pages_url:
            raise ValueError(f"a {kind.value} email needs applicant_pages_url")
        if kind is EmailKind.REMINDER and self.window not in (None, self.reminded_window):
            raise ValueError(
                f"a reminder to the {self.recipient.value} is about the "
                f"{self.reminded_window.value} window, not the {self.window.value} window"
            )
        return self

    @property
    def reminded_window(self) -> WaitingWindow:
        """Officers are reminded to decide, applicants to answer."""
        return WaitingWindow.REVIEW if self.recipient is Recipient.UNIT else WaitingWindow.ANSWER

    def template_variables(self) -> dict[str, Any]:
        window = self.reminded_window if self.kind is EmailKind.REMINDER else self.window
        pages = self.applicant_pages_url.rstrip("/") if self.applicant_pages_url else None
        business_days = self.business_days
        if business_days is None:
            business_days = self.post.windows.approval_release_business_days
        return {
            "request": self.request,
            "post": self.post,
            "kind": self.kind.value,
            "recipient": self.recipient.value,
            "note": self.note,
            "failed_rules": [rule for rule in self.failed_rules if not rule.passed],
            "window_ends_at": self.window_ends_at,
            "window": window.value if window else None,
            "submitted_at": self.submitted_at,
            "approval_email_release_at": self.approval_email_release_at,
            "business_days": business_days,
            "visa_class": self.visa_class,
            "visa_bulletin_caution": self.visa_class in PREFERENCE_CATEGORIES,
            "appointment": self.appointment,
            "appointment_at": self.appointment.starts_at(self.post) if self.appointment else None,
            "applicant_pages_url": pages,
            "confirmation_url": f"{pages}/confirmation" if pages else None,
            # The secret itself is written in only as the email leaves (applicant_secrets.py).
            "applicant_secret": APPLICANT_SECRET_MARKER,
        }


class RenderedEmail(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    text_body: str
    html_body: str


def post_time(value: datetime, post: Post) -> str:
    """In the post's time zone, e.g. "Monday 30 November 2026, 08:00 (Africa/Nairobi)".
    A naive value is already the post's local time (as original_appointment_at is)."""
    local = value.astimezone(post.zone) if value.tzinfo else value
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({post.time_zone})"


@lru_cache(maxsize=4)
def email_environment(templates_dir: Path = EMAIL_TEMPLATES_DIR) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(templates_dir),
        # Only the HTML part is escaped: a reason or a note typed by a person must never
        # become markup, while the text part shows it exactly as typed.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,  # a variable missing from the context is a bug, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["post_time"] = post_time
    # The posts' appointment rules have one wording, shared with the console.
    environment.globals.update(closing_rule_text=closing_rule_text, change_rule_text=change_rule_text)
    return environment


def render_email(context: EmailContext) -> RenderedEmail:
    environment = email_environment()
    variables = context.template_variables()
    kind = context.kind.value
    # One line, whatever the template's whitespace: a newline in a header is refused.
    subject = " ".join(environment.get_template(f"{kind}.subject.j2").render(variables).split())
    variables["subject"] = subject
    text_body = environment.get_template(f"{kind}.txt.j2").render(variables).strip() + "\n"
    html_body = environment.get_template(f"{kind}.html.j2").render(variables).strip() + "\n"
    return RenderedEmail(subject=subject, text_body=text_body, html_body=html_body)


def recipient_address(context: EmailContext) -> str:
    if context.recipient is Recipient.UNIT:
        return context.post.contacts.unit_email
    return str(context.request.contact_email)
