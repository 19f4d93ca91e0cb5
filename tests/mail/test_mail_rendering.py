"""The emails say what the posts' pages say, in the post's time, and nothing typed by a
person becomes markup."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jinja2 import UndefinedError
from pydantic import ValidationError

from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.domain.records import EmailKind, Recipient
from reschedule_desk.mail.rendering import (
    EMAIL_TEMPLATES_DIR,
    EmailContext,
    WaitingWindow,
    email_environment,
    post_time,
    recipient_address,
    render_email,
)
from tests.conftest import reschedule_request
from tests.storage.conftest import self_reported_request

POST_CODES = ("nairobi", "phnom-penh")
EVERY_EMAIL = [(kind, Recipient.APPLICANT) for kind in EmailKind] + [(EmailKind.REMINDER, Recipient.UNIT)]


def test_every_kind_has_a_subject_a_text_and_an_html_template():
    for kind in EmailKind:
        for suffix in ("subject.j2", "txt.j2", "html.j2"):
            assert (EMAIL_TEMPLATES_DIR / f"{kind.value}.{suffix}").is_file(), f"{kind.value}.{suffix}"


@pytest.mark.parametrize("code", POST_CODES)
@pytest.mark.parametrize(("kind", "recipient"), EVERY_EMAIL, ids=lambda v: getattr(v, "value", v))
def test_every_email_renders_for_every_post(posts, full_context, code, kind, recipient):
    post = posts.post(code)
    context = full_context(post, kind, recipient)
    email = render_email(context)

    assert context.request.case_number in email.subject
    assert email.subject and "\n" not in email.subject
    assert "{{" not in email.text_body + email.html_body
    for body in (email.text_body, email.html_body):
        assert context.request.case_number in body
        assert f"{post.name}, Immigrant Visa Unit" in body
        assert "None" not in body  # an empty optional never shows as "None"
    assert email.html_body.startswith("<!DOCTYPE html>")
    assert f"<title>{email.subject}</title>" in email.html_body
    if recipient is Recipient.APPLICANT:
        assert email.text_body.startswith("Dear Amani Wanjiru,")
        for body in (email.text_body, email.html_body):
            assert post.contacts.scheduling_url in body
            assert post.contacts.inquiry_url in body


def test_footer_gives_the_customer_service_numbers_where_the_post_has_them(posts, full_context):
    nairobi = render_email(full_context(posts.post("nairobi"), EmailKind.ACKNOWLEDGEMENT))
    phnom_penh = render_email(full_context(posts.post("phnom-penh"), EmailKind.ACKNOWLEDGEMENT))

    for body in (nairobi.text_body, nairobi.html_body):
        assert "+254-20-6190-600" in body
        assert "+1-703-988-7112 from the U.S." in body
    assert "customer service center" not in phnom_penh.text_body


@pytest.mark.parametrize("code", POST_CODES)
def test_acknowledgement_says_at_least_5_business_days(posts, full_context, code):
    post = posts.post(code)
    email = render_email(full_context(post, EmailKind.ACKNOWLEDGEMENT))

    for body in (email.text_body, email.html_body):
        assert "Your request will be reviewed by our office." in body
        assert "It will take at least 5 business days before you receive this email" in body
        assert "Baraka Otieno" in body  # every applicant on the request
    release = "Monday 23 November 2026, 08:00 (Africa/Nairobi)" if code == "nairobi" else (
        "Monday 23 November 2026, 12:00 (Asia/Phnom_Penh)"
    )
    assert f"You will not receive it before {release}." in email.text_body


def test_acknowledgement_uses_the_business_days_it_is_given(posts, full_context):
    email = render_email(full_context(posts.post("nairobi"), EmailKind.ACKNOWLEDGEMENT, business_days=7))
    assert "at least 7 business days" in email.text_body


@pytest.mark.parametrize(
    ("code", "closing_rule"),
    [
        ("nairobi", "The closing time for appointments is 48 hours before the appointment."),
        ("phnom-penh", "The closing time for appointments is 11:00 a.m. the previous working day"),
    ],
)
def test_approved_tells_how_to_schedule_and_the_posts_rules(posts, full_context, code, closing_rule):
    post = posts.post(code)
    email = render_email(full_context(post, EmailKind.APPROVED, note="Bring the medical results."))

    for body in (email.text_body, email.html_body):
        assert "has been approved" in body
        assert post.contacts.scheduling_url in body
        assert (
            "If the system says there are no available appointments, please check back in 72 hours"
            in body
        )
        assert closing_rule in body
        assert "at least three working days before your appointment date" in body
        assert "wait until the appointment date has passed" in body
        assert "Bring the medical results." in body


def test_approved_without_a_note_has_no_note_section(posts, full_context):
    email = render_email(full_context(posts.post("nairobi"), EmailKind.APPROVED, note=None))
    assert "Note from the officer" not in email.text_body
    assert "Note from the officer" not in email.html_body


def test_no_slots_wording_follows_the_post(posts, full_context):
    post = posts.post("nairobi").model_copy(update={"no_slots_retry_hours": 48})
    email = render_email(full_context(post, EmailKind.APPROVED))
    assert "please check back in 48 hours" in email.text_body


@pytest.mark.parametrize("visa_class", ["F2A", "F1", "F4", "E2", "EW"])
def test_visa_bulletin_caution_for_preference_categories(posts, full_context, visa_class):
    # The case's class, from its case file: the request carries none.
    context = full_context(posts.post("phnom-penh"), EmailKind.APPROVED, visa_class=visa_class)
    email = render_email(context)
    for body in (email.text_body, email.html_body):
        assert "IMPORTANT NOTICE" in body
        assert "carefully consult the Visa Bulletin" in body
        assert f"including yours ({visa_class})" in body


@pytest.mark.parametrize("visa_class", ["IR1", "CR1", "IR2", "IR5", None])
def test_no_visa_bulletin_caution_for_immediate_relatives(posts, full_context, visa_class):
    # None: the post had no case file to read a class from, so nothing to caution about.
    context = full_context(posts.post("phnom-penh"), EmailKind.APPROVED, visa_class=visa_class)
    email = render_email(context)
    for body in (email.text_body, email.html_body):
        assert "Visa Bulletin" not in body


def test_ineligible_lists_every_failed_rule_and_sends_to_an_inquiry(posts, full_context):
    post = posts.post("nairobi")
    email = render_email(full_context(post, EmailKind.INELIGIBLE))

    for body in (email.text_body, email.html_body):
        assert "You have been interviewed already." in body
        assert "(rule: already_interviewed)" in body
        assert "has not contacted the post for more than a year" in body
        assert "The appointment date has passed." not in body  # a passed rule is not a reason
        assert "Instead, please submit an inquiry at" in body
        assert post.contacts.inquiry_url in body


@pytest.mark.parametrize(
    ("code", "deadline"),
    [
        ("nairobi", "Monday 30 November 2026, 08:00 (Africa/Nairobi)"),
        ("phnom-penh", "Monday 30 November 2026, 12:00 (Asia/Phnom_Penh)"),
    ],
)
def test_info_requested_says_what_and_by_when_in_post_time(posts, full_context, code, deadline):
    email = render_email(full_context(posts.post(code), EmailKind.INFO_REQUESTED, note="Send the medical letter."))
    assert deadline in email.subject
    for body in (email.text_body, email.html_body):
        assert "Send the medical letter." in body
        assert f"Please answer by {deadline}." in body


def test_reminder_to_the_applicant_is_about_the_answer_window(posts, full_context):
    context = full_context(posts.post("nairobi"), EmailKind.REMINDER, Recipient.APPLICANT)
    email = render_email(context)

    assert "please answer by Monday 30 November 2026, 08:00 (Africa/Nairobi)" in email.subject
    assert "Please answer by Monday 30 November 2026, 08:00 (Africa/Nairobi)." in email.text_body
    assert recipient_address(context) == "amani.wanjiru@example.com"


def test_reminder_to_the_unit_is_about_the_review_window(posts, full_context):
    post = posts.post("nairobi")
    context = full_context(post, EmailKind.REMINDER, Recipient.UNIT)
    email = render_email(context)

    assert "review window ends Monday 30 November 2026, 08:00 (Africa/Nairobi)" in email.subject
    for body in (email.text_body, email.html_body):
        assert "To the Immigrant Visa Unit, U.S. Embassy Nairobi:" in body
        assert "NRB2024000001" in body
        assert "(visa class IR1)" in body  # the case file's class, from the request's row
        assert "The review window ends Monday 30 November 2026, 08:00 (Africa/Nairobi)." in body
        assert "Dear" not in body
    assert recipient_address(context) == post.contacts.unit_email


def test_a_reminder_to_the_unit_without_a_case_files_class_names_none(posts, full_context):
    # The post had no file of the case when it was screened: its row has no class.
    email = render_email(full_context(posts.post("nairobi"), EmailKind.REMINDER, Recipient.UNIT, visa_class=None))
    for body in (email.text_body, email.html_body):
        assert "visa class" not in body and "None" not in body
        assert "The reschedule request for case" in body and "NRB2024000001" in body


def test_denied_gives_the_officers_reason(posts, full_context):
    email = render_email(full_context(posts.post("nairobi"), EmailKind.DENIED, note="The case is not current."))
    for body in (email.text_body, email.html_body):
        assert "was not approved" in body
        assert "The case is not current." in body


def test_html_escapes_what_people_typed_and_text_keeps_it(posts, full_context):
    reason = '<script>alert("x")</script> & more'
    email = render_email(full_context(posts.post("nairobi"), EmailKind.DENIED, note=reason))

    assert "<script>" not in email.html_body
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in email.html_body
    assert reason in email.text_body


def test_html_escapes_the_applicants_name(posts, full_context):
    request = reschedule_request(applicants=[{"full_name": "<b>Amani</b>", "date_of_birth": "1990-04-02"}])
    email = render_email(full_context(posts.post("nairobi"), EmailKind.WITHDRAWN, request=request))
    assert "Dear &lt;b&gt;Amani&lt;/b&gt;," in email.html_body
    assert "Dear <b>Amani</b>," in email.text_body


@pytest.mark.parametrize(
    ("window", "says"),
    [
        (WaitingWindow.ANSWER, "did not receive your answer by Monday 30 November 2026"),
        (WaitingWindow.REVIEW, "our office could not complete its review in the time allowed"),
    ],
)
def test_expired_says_which_window_ran_out_and_what_to_do(posts, full_context, window, says):
    post = posts.post("nairobi")
    email = render_email(full_context(post, EmailKind.EXPIRED, window=window))
    for body in (email.text_body, email.html_body):
        assert "has expired" in body
        assert says in body
        assert f"send a new reschedule request at {post.contacts.scheduling_url}" in body.replace(
            f'<a href="{post.contacts.scheduling_url}">{post.contacts.scheduling_url}</a>',
            post.contacts.scheduling_url,
        )


def test_expired_without_a_known_window_still_says_what_to_do(posts, full_context):
    email = render_email(full_context(posts.post("nairobi"), EmailKind.EXPIRED, window=None))
    assert "has expired: the time allowed for it ran out on Monday 30 November 2026" in email.text_body
    assert "send a new reschedule request" in email.text_body


@pytest.mark.parametrize(
    ("state", "window"),
    [
        (RequestState.PENDING_REVIEW, WaitingWindow.REVIEW),
        (RequestState.INFO_REQUESTED, WaitingWindow.ANSWER),
        (RequestState.AWAITING_BOOKING, WaitingWindow.BOOKING),
        (RequestState.SUBMITTED, None),
        (RequestState.BOOKED, None),
    ],
)
def test_the_window_a_request_expired_from(state, window):
    assert WaitingWindow.of_state(state) is window


def test_withdrawn_confirms(posts, full_context):
    email = render_email(full_context(posts.post("phnom-penh"), EmailKind.WITHDRAWN))
    assert "withdrawn" in email.subject
    assert "we have withdrawn your request" in email.text_body


def test_a_missing_variable_is_an_error(posts, full_context):
    variables = full_context(posts.post("nairobi"), EmailKind.APPROVED).template_variables()
    del variables["request"]
    for name in ("approved.subject.j2", "approved.txt.j2", "approved.html.j2"):
        with pytest.raises(UndefinedError):
            email_environment().get_template(name).render(variables | {"subject": "s"})


def test_a_misspelt_variable_in_a_template_is_an_error():
    with pytest.raises(UndefinedError):
        email_environment().from_string("{{ reqest.case_number }}").render()


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"kind": EmailKind.DENIED, "note": None}, "needs the officer's note"),
        ({"kind": EmailKind.INFO_REQUESTED, "window_ends_at": None}, "needs window_ends_at"),
        ({"kind": EmailKind.INELIGIBLE, "failed_rules": []}, "at least one failed rule"),
        ({"kind": EmailKind.APPROVED, "recipient": Recipient.UNIT}, "only reminders go to the IV unit"),
        (
            {"kind": EmailKind.REMINDER, "recipient": Recipient.UNIT, "window": WaitingWindow.ANSWER},
            "about the review window",
        ),
        ({"kind": EmailKind.REMINDER, "window_ends_at": datetime(2026, 11, 30, 8, 0)}, "timezone"),
        ({"kind": EmailKind.BOOKED, "appointment": None}, "a booked email needs the appointment"),
        ({"kind": EmailKind.BOOKING_CANCELLED, "appointment": None}, "a booking_cancelled email needs the appointment"),
        ({"kind": EmailKind.MISSED, "appointment": None}, "a missed email needs the appointment"),
        ({"kind": EmailKind.BOOKING_REMINDER, "window_ends_at": None}, "a booking_reminder email needs window_ends_at"),
        ({"kind": EmailKind.BOOKING_CANCELLED, "window_ends_at": None}, "a booking_cancelled email needs window_ends_at"),
        ({"kind": EmailKind.APPROVED, "applicant_pages_url": None}, "an? approved email needs applicant_pages_url"),
        ({"kind": EmailKind.BOOKED, "applicant_pages_url": None}, "a booked email needs applicant_pages_url"),
        ({"kind": EmailKind.BOOKING_REMINDER, "recipient": Recipient.UNIT}, "only reminders go to the IV unit"),
    ],
)
def test_a_context_missing_what_its_kind_needs_is_refused(posts, full_context, changes, complaint):
    with pytest.raises(ValidationError, match=complaint):
        full_context(posts.post("nairobi"), **changes)


@pytest.mark.parametrize(("kind", "recipient"), EVERY_EMAIL, ids=lambda v: getattr(v, "value", v))
def test_a_request_taken_before_the_case_file_still_renders_every_email(posts, full_context, kind, recipient):
    """Requests whose histories began before screening read the case file still get their
    emails, addressed to the principal they named, wherever on the list."""
    post = posts.post("phnom-penh")
    old = self_reported_request(
        post.code,
        case_number="PHP2024000009",
        visa_class="F2A",
        contact_email="sokha.chan@example.com",
        applicants=[
            {"full_name": "Dara Chan", "date_of_birth": "2015-12-01", "relationship": "child"},
            {"full_name": "Sokha Chan", "date_of_birth": "1992-08-03", "relationship": "principal",
             "marital_status": "married"},
        ],
    )
    # The class its row holds: the one the applicant gave, then.
    context = full_context(post, kind, recipient, request=old, visa_class="F2A")
    email = render_email(context)
    assert "PHP2024000009" in email.subject
    for body in (email.text_body, email.html_body):
        assert "PHP2024000009" in body
        assert "None" not in body
    if recipient is Recipient.APPLICANT:
        assert email.text_body.startswith("Dear Sokha Chan,")
        assert recipient_address(context) == "sokha.chan@example.com"
    if kind is EmailKind.APPROVED:
        assert "including yours (F2A)" in email.text_body
    if kind is EmailKind.ACKNOWLEDGEMENT:
        assert "- Dara Chan" in email.text_body and "- Sokha Chan" in email.text_body


def test_a_context_for_another_post_is_refused(posts):
    with pytest.raises(ValidationError, match="not 'phnom-penh'"):
        EmailContext(
            request=reschedule_request("nairobi"), post=posts.post("phnom-penh"), kind=EmailKind.WITHDRAWN
        )


def test_post_time_shows_the_posts_local_time(posts):
    instant = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    assert post_time(instant, posts.post("nairobi")) == "Monday 30 November 2026, 08:00 (Africa/Nairobi)"
    assert post_time(instant, posts.post("phnom-penh")) == "Monday 30 November 2026, 12:00 (Asia/Phnom_Penh)"
    # A naive value is the post's local time already (original_appointment_at).
    assert post_time(datetime(2026, 12, 1, 9, 5), posts.post("phnom-penh")) == (
        "Tuesday 1 December 2026, 09:05 (Asia/Phnom_Penh)"
    )
