"""The emails after the approval: book before the window ends, the confirmation, a
cancellation, a missed appointment; each in the post's time and with the post's rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reschedule_desk.domain.records import EmailKind
from reschedule_desk.mail.rendering import WaitingWindow, render_email
from tests.conftest import reschedule_request
from tests.mail.conftest import APPLICANT_PAGES_URL, appointment_at

POST_CODES = ("nairobi", "phnom-penh")

# The fixture's appointment, Monday 7 December 2026 at 08:30, and window end, 05:00 UTC
# on Monday 30 November 2026, as each post's applicants read them.
APPOINTMENT = {
    "nairobi": "Monday 7 December 2026, 08:30 (Africa/Nairobi)",
    "phnom-penh": "Monday 7 December 2026, 08:30 (Asia/Phnom_Penh)",
}
WINDOW_END = {
    "nairobi": "Monday 30 November 2026, 08:00 (Africa/Nairobi)",
    "phnom-penh": "Monday 30 November 2026, 12:00 (Asia/Phnom_Penh)",
}
CLOSING_RULE = {
    "nairobi": "The closing time for appointments is 48 hours before the appointment.",
    "phnom-penh": "The closing time for appointments is 11:00 a.m. the previous working day before the interview date.",
}


def as_text(html: str) -> str:
    """The HTML part with its links written as their addresses, to compare with the text part."""
    for url in (APPLICANT_PAGES_URL, f"{APPLICANT_PAGES_URL}/confirmation"):
        html = html.replace(f'<a href="{url}">{url}</a>', url)
    return html


@pytest.mark.parametrize("code", POST_CODES)
def test_booking_reminder_says_book_before_the_window_ends_in_post_time(posts, full_context, code):
    email = render_email(full_context(posts.post(code), EmailKind.BOOKING_REMINDER))

    assert f"please book your appointment before {WINDOW_END[code]}" in email.subject
    for body in (email.text_body, as_text(email.html_body)):
        assert f"Please book it before {WINDOW_END[code]}, or the approval expires" in body
        assert APPLICANT_PAGES_URL in body
        assert "please check back in 72 hours" in body


def test_booking_reminder_gives_the_posts_no_slots_figure(posts, full_context):
    post = posts.post("nairobi").model_copy(update={"no_slots_retry_hours": 48})
    email = render_email(full_context(post, EmailKind.BOOKING_REMINDER))
    for body in (email.text_body, email.html_body):
        assert "please check back in 48 hours" in body


@pytest.mark.parametrize("code", POST_CODES)
def test_booked_confirms_the_day_and_time_in_post_time(posts, full_context, code):
    email = render_email(full_context(posts.post(code), EmailKind.BOOKED))

    assert f"appointment confirmed for {APPOINTMENT[code]}" in email.subject
    assert f"Date and time: {APPOINTMENT[code]}" in email.text_body
    assert f"<strong>{APPOINTMENT[code]}</strong>" in email.html_body


@pytest.mark.parametrize("code", POST_CODES)
def test_booked_names_the_place_and_every_applicant(posts, full_context, code):
    post = posts.post(code)
    email = render_email(full_context(post, EmailKind.BOOKED))

    assert f"Place: {post.name}" in email.text_body
    assert "- Amani Wanjiru\n- Baraka Otieno\n" in email.text_body
    assert f"<td style=\"padding: 0.2em 0;\">{post.name}</td>" in email.html_body
    assert "Amani Wanjiru<br>" in email.html_body and "Baraka Otieno" in email.html_body


@pytest.mark.parametrize("code", POST_CODES)
def test_booked_links_the_printable_confirmation_and_gives_the_posts_rules(posts, full_context, code):
    email = render_email(full_context(posts.post(code), EmailKind.BOOKED))

    for body in (email.text_body, as_text(email.html_body)):
        assert "print out the Appointment Confirmation Page" in body
        assert f"{APPLICANT_PAGES_URL}/confirmation" in body
        assert f"To cancel or reschedule it, go to {APPLICANT_PAGES_URL}" in body
        assert CLOSING_RULE[code] in body
        assert "at least three working days before your appointment date" in body
        assert "wait until the appointment date has passed" in body
        assert "appointment.ics" in body


def test_booked_escapes_an_applicants_name_in_html(posts, full_context):
    request = reschedule_request(applicants=[{"full_name": "<b>Amani</b>", "date_of_birth": "1990-04-02"}])
    email = render_email(full_context(posts.post("nairobi"), EmailKind.BOOKED, request=request))
    assert "<b>Amani</b>" not in email.html_body
    assert "&lt;b&gt;Amani&lt;/b&gt;" in email.html_body
    assert "- <b>Amani</b>" in email.text_body


@pytest.mark.parametrize("code", POST_CODES)
def test_booking_cancelled_gives_the_seats_back_and_says_book_again_by_the_window_end(posts, full_context, code):
    email = render_email(full_context(posts.post(code), EmailKind.BOOKING_CANCELLED))

    assert f"appointment of {APPOINTMENT[code]} cancelled" in email.subject
    for body in (email.text_body, as_text(email.html_body)):
        assert f"on {APPOINTMENT[code]} has been cancelled" in body
        assert "Its places have been given back" in body
        assert f"Please book a new appointment before {WINDOW_END[code]}, or the approval expires" in body
        assert APPLICANT_PAGES_URL in body


@pytest.mark.parametrize("code", POST_CODES)
def test_missed_ends_the_request_and_points_to_a_new_one(posts, full_context, code):
    post = posts.post(code)
    email = render_email(full_context(post, EmailKind.MISSED))

    assert f"appointment of {APPOINTMENT[code]} missed" in email.subject
    scheduling = f'<a href="{post.contacts.scheduling_url}">{post.contacts.scheduling_url}</a>'
    for body in (email.text_body, email.html_body.replace(scheduling, post.contacts.scheduling_url)):
        assert f"did not attend the immigrant visa interview appointment on {APPOINTMENT[code]}" in body
        assert "This reschedule request has ended." in body
        assert f"send a new reschedule request for the case at {post.contacts.scheduling_url}" in body
        assert post.contacts.inquiry_url in body
        assert APPLICANT_PAGES_URL not in body  # the desk's pages have nothing more to book


@pytest.mark.parametrize("code", POST_CODES)
def test_approved_sends_the_applicant_to_the_desks_pages_within_the_booking_window(posts, full_context, code):
    email = render_email(full_context(posts.post(code), EmailKind.APPROVED))
    for body in (email.text_body, as_text(email.html_body)):
        assert (
            f"return to the website and schedule a new appointment at {APPLICANT_PAGES_URL} "
            "within 20 business days of this email" in body.replace("</strong>", "")
        )


def test_approved_gives_the_posts_booking_window(posts, full_context):
    post = posts.post("nairobi")
    post = post.model_copy(update={"windows": post.windows.model_copy(update={"booking_business_days": 15})})
    email = render_email(full_context(post, EmailKind.APPROVED))
    assert "within 15 business days of this email" in email.text_body


@pytest.mark.parametrize("code", POST_CODES)
def test_expired_booking_window_says_no_appointment_was_booked(posts, full_context, code):
    email = render_email(full_context(posts.post(code), EmailKind.EXPIRED, window=WaitingWindow.BOOKING))
    for body in (email.text_body, email.html_body):
        assert "you did not book an appointment within 20 business days of the approval" in body
        assert f"(by {WINDOW_END[code]})" in body


def test_an_appointment_at_another_post_is_refused(posts, full_context):
    with pytest.raises(ValidationError, match="the appointment is at post 'phnom-penh', not 'nairobi'"):
        full_context(posts.post("nairobi"), EmailKind.BOOKED, appointment=appointment_at(posts.post("phnom-penh")))
