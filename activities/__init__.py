"""The desk's activities: every side effect of a request happens here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from activities.booking import BookingActivities
from activities.delivery import EmailActivities
from activities.screening import ScreeningActivities
from activities.transitions import TransitionActivities
from reschedule_desk.applicant_secrets import ApplicantSecrets
from reschedule_desk.domain.posts import PostsConfig
from reschedule_desk.mail.delivery import MailTransport


def desk_activities(
    sessions: sessionmaker[Session],
    posts: PostsConfig,
    transport: MailTransport,
    applicant_secrets: ApplicantSecrets,
    public_url: str,
) -> list[Callable[..., Any]]:
    screening = ScreeningActivities(sessions, posts)
    transitions = TransitionActivities(sessions, posts, public_url)
    delivery = EmailActivities(sessions, transport, applicant_secrets)
    booking = BookingActivities(sessions, posts)
    return [
        screening.read_case_file,
        screening.gather_screening_facts,  # for requests started before the case file was read
        transitions.record_transition,
        delivery.send_email,
        booking.book_slot,
        booking.cancel_booking,
    ]
