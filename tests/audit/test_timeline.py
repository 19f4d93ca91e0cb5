"""The timeline of each lifecycle path, read from its recorded history alone, says what its
test in tests/workflows/test_reschedule_request.py did, event for event."""

from __future__ import annotations

import pytest

from reschedule_desk.audit.histories import RequestHistory
from reschedule_desk.audit.render import timeline_html, timeline_text
from reschedule_desk.audit.timeline import EntryKind, Timeline, read_timeline
from tests.audit.conftest import recorded
from tests.conftest import HISTORIES_DIR, TEST_DATA_CONVERTER

OFFICER = "officer.njeri"  # as in the lifecycle tests
SUPERVISOR = "supervisor.ana"

# Every request starts the same way: submitted, its facts gathered, screened eligible.
SCREENED_ELIGIBLE = [
    ("submitted", "applicant", "at nairobi: IR1, missed_appointment, 1 applicant"),
    ("screening", None, "review window 10 and answer window 10 business days"),
    ("step", "system", "step 1: screen by system, SUBMITTED -> PENDING_REVIEW; screening passed all 10 rules"),
]
REVIEW_REMINDER = ("timer started", None, "review window reminder due Thu 3 Dec 2026 08:00 EAT: 2 business days before")
REVIEW_REMINDER_CANCELED = ("timer canceled", None, "review window reminder due Thu 3 Dec 2026 08:00 EAT")
ACKNOWLEDGED = ("email", None, "acknowledgement email to the applicant (template email/acknowledgement)")
RELEASE = "approval email release Mon 30 Nov 2026 08:00 EAT"

EXPECTED = {
    "approved": [
        *SCREENED_ELIGIBLE,
        ("update", OFFICER, 'approve by officer.njeri: note "Medical hold confirmed" -> APPROVED'),
        ("step", OFFICER, "step 2: approve by officer.njeri, PENDING_REVIEW -> APPROVED"),
        ACKNOWLEDGED,
        ("timer started", None, f"{RELEASE}: opening time, 5 business days after submission on Sat 21 Nov 2026"),
        ("timer fired", None, RELEASE),
        ("email", None, "approved email to the applicant (template email/approved)"),
        ("closed", None, "final state APPROVED, approval email sent"),
    ],
    "ineligible": [
        ("submitted", "applicant", "K1"),
        ("screening", None, "facts for U.S. Embassy Nairobi"),
        (
            "step",
            "system",
            "SUBMITTED -> INELIGIBLE; screening failed not_interviewed_already, visa_class_not_excluded_at_post",
        ),
        ("email", None, "ineligible email to the applicant (template email/ineligible)"),
        ("closed", None, "final state INELIGIBLE"),
    ],
    "denied": [
        *SCREENED_ELIGIBLE,
        REVIEW_REMINDER,
        ACKNOWLEDGED,
        ("update", OFFICER, 'deny by officer.njeri: reason "The medical examination has expired." -> DENIED'),
        REVIEW_REMINDER_CANCELED,
        ("step", OFFICER, 'step 2: deny by officer.njeri, PENDING_REVIEW -> DENIED, note "The medical examination'),
        ("email", None, "denied email to the applicant"),
        ("closed", None, "final state DENIED"),
    ],
    "denied_by_signal": [
        *SCREENED_ELIGIBLE,
        REVIEW_REMINDER,
        ACKNOWLEDGED,
        ("signal", "applicant", 'provide_info by applicant: answer "Nobody asked."'),
        ("signal", OFFICER, 'deny by officer.njeri: reason "Duplicate case."'),
        REVIEW_REMINDER_CANCELED,
        ("step", OFFICER, "step 2: deny by officer.njeri, PENDING_REVIEW -> DENIED"),
        ("email", None, "denied email to the applicant"),
        ("closed", None, "final state DENIED; 1 signal(s) ignored"),
    ],
    "ignored_signal_audited": [
        *SCREENED_ELIGIBLE,
        REVIEW_REMINDER,
        ACKNOWLEDGED,
        ("signal", "applicant", 'provide_info by applicant: answer "Nobody asked."'),
        ("code change", None, "workflow change 'ignored-signals-audited' in effect from here"),
        REVIEW_REMINDER_CANCELED,
        ("step", "applicant", 'step 2: ignore_signal by applicant, PENDING_REVIEW -> PENDING_REVIEW, note "cannot provide_info'),
        ("signal", OFFICER, 'deny by officer.njeri: reason "Duplicate case."'),
        ("step", OFFICER, "step 3: deny by officer.njeri, PENDING_REVIEW -> DENIED"),
        ("email", None, "denied email to the applicant"),
        ("closed", None, "final state DENIED; 1 signal(s) ignored"),
    ],
    "info_requested_answered_approved": [
        *SCREENED_ELIGIBLE,
        REVIEW_REMINDER,
        ACKNOWLEDGED,
        ("update", OFFICER, 'request_info by officer.njeri: needed "A letter from the panel physician." -> INFO_REQUESTED'),
        REVIEW_REMINDER_CANCELED,
        ("step", OFFICER, "step 2: request_info by officer.njeri, PENDING_REVIEW -> INFO_REQUESTED"),
        ("timer started", None, "answer window reminder due Thu 3 Dec 2026 08:00 EAT: 2 business days before"),
        ("email", None, "info_requested email to the applicant (template email/info_requested)"),
        ("update", "applicant", 'provide_info by applicant: answer "Letter attached to my inquiry." -> PENDING_REVIEW'),
        ("timer canceled", None, "answer window reminder"),
        ("step", "applicant", "step 3: provide_info by applicant, INFO_REQUESTED -> PENDING_REVIEW"),
        REVIEW_REMINDER,
        ("update", OFFICER, "approve by officer.njeri -> APPROVED"),
        REVIEW_REMINDER_CANCELED,
        ("step", OFFICER, "step 4: approve by officer.njeri, PENDING_REVIEW -> APPROVED"),
        ("timer started", None, RELEASE),
        ("timer fired", None, RELEASE),
        ("email", None, "approved email to the applicant"),
        ("closed", None, "final state APPROVED, approval email sent"),
    ],
    "info_requested_expired": [
        *SCREENED_ELIGIBLE,
        REVIEW_REMINDER,
        ACKNOWLEDGED,
        ("update", OFFICER, 'request_info by officer.njeri: needed "Your passport bio page." -> INFO_REQUESTED'),
        REVIEW_REMINDER_CANCELED,
        ("step", OFFICER, "step 2: request_info by officer.njeri, PENDING_REVIEW -> INFO_REQUESTED"),
        ("timer started", None, "answer window reminder due Thu 3 Dec 2026 08:00 EAT"),
        ("email", None, "info_requested email to the applicant"),
        ("timer fired", None, "answer window reminder due Thu 3 Dec 2026 08:00 EAT"),
        ("step", "system", 'step 3: remind by system, INFO_REQUESTED -> INFO_REQUESTED, note "Your passport bio page."'),
        ("timer started", None, "answer window ends Mon 7 Dec 2026 16:30 EAT: 10 business days after Sat 21 Nov 2026"),
        ("email", None, "reminder email to the applicant (template email/reminder)"),
        ("timer fired", None, "answer window ends Mon 7 Dec 2026 16:30 EAT"),
        ("step", "system", "step 4: expire by system, INFO_REQUESTED -> EXPIRED, rule answer_window_ran_out"),
        ("email", None, "expired email to the applicant"),
        ("closed", None, "final state EXPIRED"),
    ],
    "review_expired": [
        *SCREENED_ELIGIBLE,
        REVIEW_REMINDER,
        ACKNOWLEDGED,
        ("timer fired", None, "review window reminder due Thu 3 Dec 2026 08:00 EAT"),
        ("step", "system", "step 2: remind by system, PENDING_REVIEW -> PENDING_REVIEW"),
        ("timer started", None, "review window ends Mon 7 Dec 2026 16:30 EAT: 10 business days after Sat 21 Nov 2026"),
        ("email", None, "reminder email to the unit (template email/reminder)"),
        ("timer fired", None, "review window ends Mon 7 Dec 2026 16:30 EAT"),
        ("step", "system", "step 3: expire by system, PENDING_REVIEW -> EXPIRED, rule review_window_ran_out"),
        ("email", None, "expired email to the applicant"),
        ("closed", None, "final state EXPIRED"),
    ],
    "withdrawn": [
        *SCREENED_ELIGIBLE,
        REVIEW_REMINDER,
        ACKNOWLEDGED,
        ("update", "applicant", 'withdraw by applicant: reason "I travelled to Nairobi another way." -> WITHDRAWN'),
        REVIEW_REMINDER_CANCELED,
        ("step", "applicant", "step 2: withdraw by applicant, PENDING_REVIEW -> WITHDRAWN"),
        ("email", None, "withdrawn email to the applicant"),
        ("closed", None, "final state WITHDRAWN"),
    ],
    "claimed_reassigned_approved": [
        *SCREENED_ELIGIBLE,
        REVIEW_REMINDER,
        ACKNOWLEDGED,
        ("update", OFFICER, "claim by officer.njeri -> PENDING_REVIEW"),
        REVIEW_REMINDER_CANCELED,
        ("step", OFFICER, "step 2: claim by officer.njeri, PENDING_REVIEW -> PENDING_REVIEW"),
        REVIEW_REMINDER,
        ("update", SUPERVISOR, 'assign by supervisor.ana: officer_id "officer.other" -> PENDING_REVIEW'),
        REVIEW_REMINDER_CANCELED,
        ("step", SUPERVISOR, 'step 3: assign by supervisor.ana, PENDING_REVIEW -> PENDING_REVIEW, note "to officer.other"'),
        REVIEW_REMINDER,
        ("update", "officer.other", "approve by officer.other -> APPROVED"),
        REVIEW_REMINDER_CANCELED,
        ("step", "officer.other", "step 4: approve by officer.other, PENDING_REVIEW -> APPROVED"),
        ("timer started", None, RELEASE),
        ("timer fired", None, RELEASE),
        ("email", None, "approved email to the applicant"),
        ("closed", None, "final state APPROVED, approval email sent"),
    ],
    "extended_then_expired": [
        *SCREENED_ELIGIBLE,
        REVIEW_REMINDER,
        ACKNOWLEDGED,
        ("update", SUPERVISOR, 'extend_window by supervisor.ana: business_days 3, reason "Medical board backlog"'),
        REVIEW_REMINDER_CANCELED,
        ("step", SUPERVISOR, "step 2: extend_window by supervisor.ana, PENDING_REVIEW -> PENDING_REVIEW"),
        ("timer started", None, "review window reminder due Tue 8 Dec 2026 08:00 EAT: 2 business days before"),
        ("timer fired", None, "review window reminder due Tue 8 Dec 2026 08:00 EAT"),
        ("step", "system", "step 3: remind by system"),
        ("timer started", None, "review window ends Thu 10 Dec 2026 16:30 EAT: 13 business days after Sat 21 Nov 2026 (extended)"),
        ("email", None, "reminder email to the unit"),
        ("timer fired", None, "review window ends Thu 10 Dec 2026 16:30 EAT"),
        ("step", "system", "step 4: expire by system, PENDING_REVIEW -> EXPIRED, rule review_window_ran_out"),
        ("email", None, "expired email to the applicant"),
        ("closed", None, "final state EXPIRED"),
    ],
}
# The approved path again, its payloads sealed behind the codec's header; recorded a day later.
EXPECTED["approved_headed_payloads"] = [
    (kind, actor, text.replace("submission on Sat 21 Nov 2026", "submission on Sun 22 Nov 2026"))
    for kind, actor, text in EXPECTED["approved"]
]


async def timeline_of(name: str) -> Timeline:
    return await read_timeline(recorded(name), TEST_DATA_CONVERTER)


# The same paths again, recorded since screening reads the post's case file: their dates
# and the interleaving of timers with signals are those of their own run, so they are
# held to the same steps and final state rather than event for event.
SCREENED_FROM_CASE_FILE = {f"case_file_{name}": name for name in EXPECTED if name != "approved_headed_payloads"}
# Recorded after IGNORED_SIGNALS_AUDITED: its ignored signal is a step, as in ignored_signal_audited.
SCREENED_FROM_CASE_FILE["case_file_denied_by_signal"] = "ignored_signal_audited"
CASE_FILE_SCREENING = [
    ("submitted", "applicant", "at nairobi: missed_appointment, 1 applicant"),
    ("code change", None, "workflow change 'screened-from-case-file' in effect from here"),
    ("screening", None, "case file: "),
    ("step", "system", "step 1: screen by system, SUBMITTED -> "),
]

# The booking paths (issue 18), screened from the case file and approved alike; after the
# approval email, the booking window, the book's answers and the attendance.
BOOKING_APPROVED = [
    ("submitted", "applicant", "at nairobi: missed_appointment, 1 applicant"),
    ("code change", None, "workflow change 'screened-from-case-file' in effect from here"),
    ("screening", None, "case file: IR1"),
    ("step", "system", "step 1: screen by system, SUBMITTED -> PENDING_REVIEW; screening passed all 11 rules"),
    ("timer started", None, "review window reminder due Mon 14 Dec 2026 08:00 EAT"),
    ("email", None, "acknowledgement email to the applicant"),
    ("update", OFFICER, "approve by officer.njeri -> APPROVED"),
    ("timer canceled", None, "review window reminder due Mon 14 Dec 2026 08:00 EAT"),
    ("step", OFFICER, "step 2: approve by officer.njeri, PENDING_REVIEW -> APPROVED"),
    ("timer started", None, "approval email release Wed 9 Dec 2026 08:00 EAT"),
    ("timer fired", None, "approval email release Wed 9 Dec 2026 08:00 EAT"),
    ("email", None, "approved email to the applicant"),
    ("code change", None, "workflow change 'booking-after-approval' in effect from here"),
    ("step", "system", "step 3: open_booking by system, APPROVED -> AWAITING_BOOKING; window ends Fri 8 Jan 2027 16:30 EAT"),
]
BOOKING_REMINDER = ("timer started", None, "booking window reminder due Wed 6 Jan 2027 08:00 EAT: 2 business days before")
BOOKING_WINDOW_REMINDED = [
    BOOKING_REMINDER,
    ("timer fired", None, "booking window reminder due Wed 6 Jan 2027 08:00 EAT"),
    ("step", "system", "step 4: remind by system, AWAITING_BOOKING -> AWAITING_BOOKING; window ends Fri 8 Jan 2027"),
    ("timer started", None, "booking window ends Fri 8 Jan 2027 16:30 EAT: 20 business days after Wed 9 Dec 2026; skips"),
    ("email", None, "booking_reminder email to the applicant (template email/booking_reminder)"),
]
EXPECTED["booking_attended"] = [
    *BOOKING_APPROVED,
    *BOOKING_WINDOW_REMINDED,
    ("update", "applicant", "book by applicant: Fri 15 Jan 2027 08:00 EAT -> BOOKED"),
    ("booking", None, "book_slot: booked Fri 15 Jan 2027 08:00 EAT (slot 1, 1 seat) as booking 1"),
    ("timer canceled", None, "booking window ends Fri 8 Jan 2027 16:30 EAT"),
    ("step", "applicant", "step 5: book by applicant, AWAITING_BOOKING -> BOOKED, note \"2027-01-15 08:00\"; booked Fri 15"),
    ("email", None, "booked email to the applicant (template email/booked)"),
    ("update", "applicant", 'cancel_booking by applicant: reason "A family emergency" -> AWAITING_BOOKING'),
    ("booking", None, "cancel_booking: booking 1 cancelled, Fri 15 Jan 2027 08:00 EAT (slot 1, 1 seat) back to the book"),
    ("step", "applicant", "step 6: cancel_booking by applicant, BOOKED -> AWAITING_BOOKING, note \"A family emergency\"; cancelled"),
    ("timer started", None, "booking window reminder due Tue 2 Feb 2027 08:00 EAT"),
    ("email", None, "booking_cancelled email to the applicant (template email/booking_cancelled)"),
    ("update", "applicant", "book by applicant: Thu 21 Jan 2027 09:00 EAT -> BOOKED"),
    ("booking", None, "book_slot: booked Thu 21 Jan 2027 09:00 EAT (slot 4, 1 seat) as booking 2"),
    ("timer canceled", None, "booking window reminder due Tue 2 Feb 2027 08:00 EAT"),
    ("step", "applicant", "step 7: book by applicant, AWAITING_BOOKING -> BOOKED"),
    ("email", None, "booked email to the applicant"),
    ("update", OFFICER, "record_attendance by officer.njeri: attended -> ATTENDED"),
    ("step", OFFICER, "step 8: record_attended by officer.njeri, BOOKED -> ATTENDED; attended Thu 21 Jan 2027 09:00 EAT"),
    ("closed", None, "final state ATTENDED, appointment Thu 21 Jan 2027 09:00 EAT (slot 4, 1 seat)"),
]
EXPECTED["booking_expired"] = [
    *BOOKING_APPROVED,
    *BOOKING_WINDOW_REMINDED,
    ("timer fired", None, "booking window ends Fri 8 Jan 2027 16:30 EAT"),
    ("step", "system", "step 5: expire by system, AWAITING_BOOKING -> EXPIRED, rule booking_window_ran_out"),
    ("email", None, "expired email to the applicant"),
    ("closed", None, "final state EXPIRED"),
]
EXPECTED["booking_rescheduled_missed"] = [
    *BOOKING_APPROVED,
    BOOKING_REMINDER,
    ("update", "applicant", "book by applicant: Fri 15 Jan 2027 08:00 EAT -> BOOKED"),
    ("booking", None, "book_slot: booked Fri 15 Jan 2027 08:00 EAT (slot 1, 1 seat) as booking 1"),
    ("timer canceled", None, "booking window reminder due Wed 6 Jan 2027 08:00 EAT"),
    ("step", "applicant", "step 4: book by applicant, AWAITING_BOOKING -> BOOKED"),
    ("email", None, "booked email to the applicant"),
    ("update", "applicant", "reschedule_booking by applicant: Fri 22 Jan 2027 08:00 EAT -> BOOKED"),
    ("booking", None, "book_slot: booked Fri 22 Jan 2027 08:00 EAT (slot 2, 1 seat) as booking 2, giving back booking 1"),
    ("step", "applicant", "step 5: reschedule_booking by applicant, BOOKED -> BOOKED, note \"2027-01-22 08:00\"; moved to Fri 22"),
    ("email", None, "booked email to the applicant"),
    ("update", OFFICER, "record_attendance by officer.njeri: missed -> MISSED"),
    ("step", OFFICER, "step 6: record_missed by officer.njeri, BOOKED -> MISSED; missed Fri 22 Jan 2027 08:00 EAT (slot 2"),
    ("email", None, "missed email to the applicant (template email/missed)"),
    ("closed", None, "final state MISSED, appointment Fri 22 Jan 2027 08:00 EAT (slot 2, 1 seat)"),
]


def test_every_recorded_history_has_its_expected_timeline_here() -> None:
    assert {path.stem for path in HISTORIES_DIR.glob("*.json")} == set(EXPECTED) | set(SCREENED_FROM_CASE_FILE)


@pytest.mark.parametrize("name", sorted(SCREENED_FROM_CASE_FILE))
async def test_a_path_screened_from_the_case_file_takes_the_same_steps_to_the_same_end(name: str) -> None:
    timeline, before = await timeline_of(name), await timeline_of(SCREENED_FROM_CASE_FILE[name])
    said = [(entry.kind.value, entry.actor, entry.text) for entry in timeline.entries]
    for (kind, actor, text), (expected_kind, expected_actor, fragment) in zip(said, CASE_FILE_SCREENING):
        assert (kind, actor) == (expected_kind, expected_actor) and fragment in text, text
    assert [(s.transition.action, s.transition.to_state) for s in timeline.steps] == [
        (s.transition.action, s.transition.to_state) for s in before.steps
    ]
    assert timeline.final_status.status is before.final_status.status


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_the_timeline_says_what_the_lifecycle_test_did_event_for_event(name: str) -> None:
    timeline = await timeline_of(name)
    said = [(entry.kind.value, entry.actor, entry.text) for entry in timeline.entries]
    assert len(said) == len(EXPECTED[name]), "\n".join(f"{kind}: {text}" for kind, _, text in said)
    for (kind, actor, text), (expected_kind, expected_actor, fragment) in zip(said, EXPECTED[name], strict=True):
        assert (kind, actor) == (expected_kind, expected_actor), text
        assert fragment in text


@pytest.mark.parametrize("name", sorted(EXPECTED) + sorted(SCREENED_FROM_CASE_FILE))
async def test_each_email_names_the_message_key_its_step_queued(name: str) -> None:
    timeline = await timeline_of(name)
    queued = {step.message_key for step in timeline.steps if step.message_key}
    sent = [email.message_key for email in timeline.emails]
    assert set(sent) <= queued
    for email in timeline.emails:
        (entry,) = [entry for entry in timeline.entries if entry.event_id == email.event_id]
        assert entry.kind is EntryKind.EMAIL and f"{email.message_key}: sent" in entry.text


async def test_a_timeline_reads_as_text_json_and_a_page_of_its_own() -> None:
    history = recorded("approved")
    found = RequestHistory.from_temporal(history)
    timeline = await read_timeline(history, TEST_DATA_CONVERTER)

    text = timeline_text(timeline, found)
    assert text.startswith("Case NRB4824500001 at nairobi: request 0f4c3155-a4d8-4b11-9d01-2867c0d833f1, APPROVED\n")
    assert "Mon 30 Nov 2026 08:00:00 EAT  #41   timer fired" in text  # local times, the post's clock

    assert Timeline.model_validate_json(timeline.model_dump_json()) == timeline

    page = timeline_html(timeline, found)
    assert page.startswith("<!doctype html>") and page.count("<tr class=") == len(timeline.entries)
    assert "note &#34;Medical hold confirmed&#34;" in page  # escaped: notes are free text
