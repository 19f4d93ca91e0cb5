"""Persist one step of a request: its row, an audit row and, in the same transaction,
the email it sends, rendered and queued in the outbox (with the appointment's .ics when
it confirms or cancels a booking)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from reschedule_desk.domain.posts import PostsConfig
from reschedule_desk.domain.records import RECORD_TRANSITION, EmailKind, RecordedTransition, TransitionEntry
from reschedule_desk.mail.invitation import CalendarMethod, appointment_calendar
from reschedule_desk.mail.rendering import EmailContext, WaitingWindow, recipient_address, render_email
from reschedule_desk.storage import repository
from reschedule_desk.storage.repository import OutboxDraft


# The calendar file each email about a booking carries.
INVITATION_METHOD = {EmailKind.BOOKED: CalendarMethod.PUBLISH, EmailKind.BOOKING_CANCELLED: CalendarMethod.CANCEL}


class TransitionActivities:
    def __init__(self, sessions: sessionmaker[Session], posts: PostsConfig, public_url: str) -> None:
        """`public_url`: where applicants reach the desk's pages (Settings.public_url);
        the emails link to its /applicant pages."""
        self._sessions = sessions
        self._posts = posts
        self._applicant_pages_url = f"{public_url.rstrip('/')}/applicant"

    @activity.defn(name=RECORD_TRANSITION)
    def record_transition(self, entry: TransitionEntry) -> RecordedTransition:
        with self._sessions.begin() as session:
            draft = self._draft_email(session, entry) if entry.email else None
            key = repository.record_transition(session, entry, draft)
        return RecordedTransition(message_key=key)

    def _draft_email(self, session: Session, entry: TransitionEntry) -> OutboxDraft:
        assert entry.email is not None
        kind = entry.email.kind
        window_ends_at = entry.window_ends_at
        if entry.request is not None:  # the first step: its rows are not written yet
            request, submitted_at, visa_class = entry.request, entry.transition.at, None  # its emails name no class
        else:
            row = repository.request_row(session, entry.request_id)
            request, submitted_at = repository.load_request(session, entry.request_id), row.submitted_at
            visa_class = row.visa_class
            if kind is EmailKind.EXPIRED:
                window_ends_at = row.window_ends_at  # the window that ran out, as recorded
        post = self._posts.post(request.post)
        context = EmailContext(
            request=request,
            visa_class=visa_class,
            post=post,
            kind=kind,
            recipient=entry.email.recipient,
            note=entry.transition.note,
            failed_rules=[rule for rule in entry.rules if not rule.passed],
            window_ends_at=window_ends_at,
            window=WaitingWindow.of_state(entry.transition.from_state) if kind is EmailKind.EXPIRED else None,
            submitted_at=submitted_at,
            approval_email_release_at=entry.approval_email_release_at,
            appointment=entry.appointment,
            applicant_pages_url=self._applicant_pages_url,
        )
        rendered = render_email(context)
        invitation = None
        if kind in INVITATION_METHOD and entry.appointment is not None:
            invitation = appointment_calendar(
                entry.appointment, post, request.case_number, stamp=entry.transition.at, method=INVITATION_METHOD[kind]
            )
        return OutboxDraft(
            kind=kind,
            recipient=recipient_address(context),
            subject=rendered.subject,
            text_body=rendered.text_body,
            html_body=rendered.html_body,
            invitation=invitation,
            not_before=entry.email.not_before,
        )
