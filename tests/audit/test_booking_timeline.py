"""After the approval email, the timeline reads the booking path from the history alone: the
booking window and its timers, each booking the book made or refused, each cancellation
and move, and whether the applicants came. Histories built on the recorded approved path
as the booking workflow writes them (tests/audit/booking_history.py)."""

from __future__ import annotations

from datetime import date, time

import pytest

from reschedule_desk.audit.histories import RequestHistory
from reschedule_desk.audit.render import timeline_html, timeline_text
from reschedule_desk.audit.timeline import EntryKind, Timeline, read_timeline
from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.domain.records import BOOK_SLOT, CANCEL_BOOKING, BookingOutcome
from tests.audit.booking_history import (
    FIRST_WINDOW_ENDS,
    FULL,
    BookingHistory,
    booked,
    booked_cancelled_rebooked_moved_missed,
    summary,
)
from tests.conftest import TEST_DATA_CONVERTER

OFFICER = "officer.njeri"
KEY = "reschedule-NRB4824500001-0f4c3155-a4d8-4b11-9d01-2867c0d833f1"

# Everything after the approval email went out (event 45), event for event.
WINDOW_REMINDER = "booking window reminder due"
BEFORE_THE_END = "2 business days before the booking window ends"
AFTER_APPROVAL = [
    ("step", "system", "step 3: open_booking by system, APPROVED -> AWAITING_BOOKING; window ends Tue 29 Dec 2026 16:30"),
    ("timer started", None, f"{WINDOW_REMINDER} Thu 24 Dec 2026 08:00 EAT: {BEFORE_THE_END}"),
    ("update", "applicant", f"book by applicant: Wed 9 Dec 2026 09:00 EAT refused: BookingRefused: cannot book: {FULL}"),
    ("booking", None, f"book_slot: refused Wed 9 Dec 2026 09:00 EAT (1 seat): {FULL}. Please choose another"),
    ("update", "applicant", "book by applicant: Tue 8 Dec 2026 08:30 EAT -> BOOKED"),
    ("booking", None, "book_slot: booked Tue 8 Dec 2026 08:30 EAT (slot 3, 1 seat) as booking 7"),
    ("step", "applicant", "step 4: book by applicant, AWAITING_BOOKING -> BOOKED, note \"2026-12-08 08:30\"; booked Tue 8"),
    ("email", None, f"booked email to the applicant (template email/booked) {KEY}-004-booked: sent"),
    ("timer canceled", None, f"{WINDOW_REMINDER} Thu 24 Dec 2026 08:00 EAT: no longer waited for"),
    ("update", "applicant", 'cancel_booking by applicant: reason "I am travelling that week." -> AWAITING_BOOKING'),
    ("booking", None, "cancel_booking: booking 7 cancelled, Tue 8 Dec 2026 08:30 EAT (slot 3, 1 seat) back to the book"),
    ("step", "applicant", "step 5: cancel_booking by applicant, BOOKED -> AWAITING_BOOKING, note"),
    ("email", None, "booking_cancelled email to the applicant (template email/booking_cancelled)"),
    ("timer started", None, f"{WINDOW_REMINDER} Mon 28 Dec 2026 08:00 EAT: {BEFORE_THE_END}"),
    ("timer fired", None, f"{WINDOW_REMINDER} Mon 28 Dec 2026 08:00 EAT"),
    ("step", "system", "step 6: remind by system, AWAITING_BOOKING -> AWAITING_BOOKING; window ends Wed 30 Dec 2026"),
    ("email", None, "booking_reminder email to the applicant (template email/booking_reminder)"),
    ("timer started", None, "booking window ends Wed 30 Dec 2026 16:30 EAT: 20 business days after Tue 1 Dec 2026; skips"),
    ("update", "applicant", "book by applicant: Mon 4 Jan 2027 08:00 EAT -> BOOKED"),
    ("booking", None, "book_slot: booked Mon 4 Jan 2027 08:00 EAT (slot 4, 1 seat) as booking 8"),
    ("step", "applicant", "step 7: book by applicant, AWAITING_BOOKING -> BOOKED"),
    ("email", None, "booked email to the applicant"),
    ("timer canceled", None, "booking window ends Wed 30 Dec 2026 16:30 EAT: no longer waited for"),
    ("update", "applicant", "reschedule_booking by applicant: Tue 5 Jan 2027 08:30 EAT -> BOOKED"),
    ("booking", None, "book_slot: booked Tue 5 Jan 2027 08:30 EAT (slot 5, 1 seat) as booking 9, giving back booking 8"),
    ("step", "applicant", "step 8: reschedule_booking by applicant, BOOKED -> BOOKED"),
    ("email", None, "booked email to the applicant"),
    ("update", OFFICER, 'record_attendance by officer.njeri: missed, note "Did not come." -> MISSED'),
    ("step", OFFICER, 'step 9: record_missed by officer.njeri, BOOKED -> MISSED, note "Did not come."; missed Tue 5'),
    ("email", None, "missed email to the applicant (template email/missed)"),
    ("closed", None, "final state MISSED, appointment Tue 5 Jan 2027 08:30 EAT (slot 5, 1 seat)"),
]
# What a step says of the appointment it is about, and of the window it opens.
STEP_DETAILS = {
    4: "; booked Tue 8 Dec 2026 08:30 EAT (slot 3, 1 seat); queues the booked email",
    5: "; cancelled Tue 8 Dec 2026 08:30 EAT (slot 3, 1 seat); window ends Wed 30 Dec 2026 16:30 EAT; queues",
    8: "; moved to Tue 5 Jan 2027 08:30 EAT (slot 5, 1 seat); queues the booked email",
    9: "; missed Tue 5 Jan 2027 08:30 EAT (slot 5, 1 seat); queues the missed email",
}


@pytest.fixture
async def missed() -> Timeline:
    path = await booked_cancelled_rebooked_moved_missed()
    return await read_timeline(await path.complete(), TEST_DATA_CONVERTER)


def said_after_approval(timeline: Timeline) -> list[tuple[str, str | None, str]]:
    return [(entry.kind.value, entry.actor, entry.text) for entry in timeline.entries if entry.event_id > 45]


async def test_the_booking_path_reads_event_for_event(missed: Timeline) -> None:
    said = said_after_approval(missed)
    assert len(said) == len(AFTER_APPROVAL), "\n".join(f"{kind}: {text}" for kind, _, text in said)
    for (kind, actor, text), (expected_kind, expected_actor, fragment) in zip(said, AFTER_APPROVAL, strict=True):
        assert (kind, actor) == (expected_kind, expected_actor), text
        assert fragment in text, text


async def test_each_step_says_what_it_did_with_its_appointment(missed: Timeline) -> None:
    steps = {entry.text.split(":", 1)[0]: entry.text for entry in missed.entries if entry.kind is EntryKind.STEP}
    for number, details in STEP_DETAILS.items():
        assert details in steps[f"step {number}"]


async def test_the_book_s_answers_are_kept_for_verify(missed: Timeline) -> None:
    assert [(b.activity, b.booked.booking_id if b.booked else None, b.gave_back) for b in missed.bookings] == [
        (BOOK_SLOT, None, None),  # refused
        (BOOK_SLOT, 7, None),
        (CANCEL_BOOKING, None, 7),
        (BOOK_SLOT, 8, None),
        (BOOK_SLOT, 9, 8),
    ]


async def test_each_step_keeps_the_appointment_it_is_about(missed: Timeline) -> None:
    assert [(s.transition.action, s.appointment.booking_id) for s in missed.steps if s.appointment] == [
        ("book", 7), ("cancel_booking", 7), ("book", 8), ("reschedule_booking", 9), ("record_missed", 9)
    ]


async def test_attended_reads_as_attended() -> None:
    path = await BookingHistory.after_approval()
    await path.open_booking(FIRST_WINDOW_ENDS)
    await path.book("book", date(2026, 12, 8), time(8, 30), booked(path, 7, 3, date(2026, 12, 8), time(8, 30)))
    await path.record_attendance(OFFICER, True)
    said = said_after_approval(await read_timeline(await path.complete(), TEST_DATA_CONVERTER))
    appointment = "Tue 8 Dec 2026 08:30 EAT (slot 3, 1 seat)"
    assert said[-3:] == [
        ("update", OFFICER, "record_attendance by officer.njeri: attended -> ATTENDED"),
        ("step", OFFICER, f"step 5: record_attended by officer.njeri, BOOKED -> ATTENDED; attended {appointment}"),
        ("closed", None, f"final state ATTENDED, appointment {appointment}"),
    ]


async def test_a_booking_window_that_runs_out_expires_with_its_rule() -> None:
    path = await BookingHistory.after_approval()
    await path.open_booking(FIRST_WINDOW_ENDS)
    await path.timer(summary("window ends", FIRST_WINDOW_ENDS), FIRST_WINDOW_ENDS, fires=True)
    await path.step("expire", "system", RequestState.EXPIRED, rule="booking_window_ran_out")
    said = said_after_approval(await read_timeline(await path.complete(), TEST_DATA_CONVERTER))
    assert said[1:] == [
        (
            "timer started",
            None,
            "booking window ends Tue 29 Dec 2026 16:30 EAT: 20 business days after Mon 30 Nov 2026; skips Jamhuri Day "
            "(KE) on Sat 12 Dec 2026, Christmas Day (KE); Christmas Day (US) on Fri 25 Dec 2026, Boxing Day (KE) on "
            "Sat 26 Dec 2026",
        ),
        ("timer fired", None, "booking window ends Tue 29 Dec 2026 16:30 EAT"),
        ("step", "system", "step 4: expire by system, AWAITING_BOOKING -> EXPIRED, rule booking_window_ran_out"),
        ("closed", None, "final state EXPIRED"),
    ]


async def test_a_reschedule_the_book_refuses_keeps_the_old_booking() -> None:
    path = await BookingHistory.after_approval()
    await path.open_booking(FIRST_WINDOW_ENDS)
    await path.book("book", date(2026, 12, 8), time(8, 30), booked(path, 7, 3, date(2026, 12, 8), time(8, 30)))
    await path.book("reschedule_booking", date(2026, 12, 9), time(9), BookingOutcome(refusal=FULL), replacing=7)
    timeline = await read_timeline(path.running(), TEST_DATA_CONVERTER)
    (refused,) = [e.text for e in timeline.entries if e.kind is EntryKind.BOOKING and "refused" in e.text]
    assert refused == f"book_slot: refused Wed 9 Dec 2026 09:00 EAT (1 seat): {FULL}; booking 7 kept"
    assert timeline.bookings[-1].gave_back is None


async def test_a_booking_still_being_made_says_what_was_asked() -> None:
    path = await BookingHistory.after_approval()
    await path.open_booking(FIRST_WINDOW_ENDS)
    await path.update_accepted("book", {"day": "2026-12-08", "time": "08:30:00"})
    await path.activity(BOOK_SLOT, path.order(date(2026, 12, 8), time(8, 30)), answered=False)
    timeline = await read_timeline(path.running(), TEST_DATA_CONVERTER)
    assert timeline.entries[-1].text == "book_slot of Tue 8 Dec 2026 08:30 EAT (1 seat): still running"
    assert (timeline.bookings[-1].answered, timeline.bookings[-1].booked) == (False, None)


async def test_a_booking_timeline_reads_as_text_json_and_a_page_of_its_own(missed: Timeline) -> None:
    path = await booked_cancelled_rebooked_moved_missed()
    history = await path.complete()
    found = RequestHistory.from_temporal(history)
    (line,) = [line for line in timeline_text(missed, found).splitlines() if "as booking 7" in line]
    assert line.startswith("Mon 30 Nov 2026 08:00:01 EAT  #59   booking ")
    assert Timeline.model_validate_json(missed.model_dump_json()) == missed
    page = timeline_html(missed, found)
    assert page.count('<tr class="booking">') == 5
