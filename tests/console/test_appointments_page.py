"""The day's appointments, /posts/POST/appointments: a post's interview slots of one day and
the bookings they hold (case, applicants, seats, the request's status); its officers and
supervisors record on each booked case whether the applicants came, as a record_attendance
Update for the signed-in account. The console's clock is Monday 23 November 2026, 09:00 in
Nairobi; Thursday 26 November is Thanksgiving Day (US)."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.console.access import Role
from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.decisions import Attendance
from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.domain.posts import PostsConfig
from reschedule_desk.storage import appointment_book
from tests.console.conftest import NOW

DAY_LIST = "/posts/nairobi/appointments"
RECORD = f"{DAY_LIST}/attendance"
MONDAY, TUESDAY = date(2026, 11, 23), date(2026, 11, 24)
TWO_APPLICANTS = [
    {"full_name": "Wanjiru Kamau", "date_of_birth": "1990-06-21", "relationship": "principal", "marital_status": "married"},
    {"full_name": "Baraka Kamau", "date_of_birth": "2015-02-11", "relationship": "child", "marital_status": "single"},
]


def notice(text: str) -> str | None:
    found = re.search(r'<p class="notice" role="status">(.*?)</p>', text, re.S)
    return found.group(1) if found else None


def error(text: str) -> str | None:
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', text, re.S)
    return found.group(1) if found else None


def booking_row(text: str, case_number: str) -> str:
    """The table row of the case's booking."""
    return re.search(rf'<tr class="\w+">\s*<td data-label="Case"><a href="/requests/{case_number}">.*?</tr>', text, re.S).group(0)


@pytest.fixture
def published(db: sessionmaker[Session], posts: PostsConfig) -> None:
    """Nairobi's Monday 23 and Tuesday 24 November: 08:00 and 08:30, 4 applicants each."""
    post = posts.post("nairobi")
    with db.begin() as session:
        appointment_book.publish_slots(
            session, post, build_post_calendar(post, MONDAY, TUESDAY), MONDAY, TUESDAY,
            [time(8), time(8, 30)], 4, "supervisor.otieno", NOW,
        )


@pytest.fixture
def booked(db: sessionmaker[Session], store_request, published):
    """Book a new request of `state` into the Nairobi slot at `day` and `at`; returns its case number."""

    def book(day: date = MONDAY, at: time = time(8), state: RequestState = RequestState.BOOKED, **case) -> str:
        case_number = store_request(state=state, **case)
        with db.begin() as session:
            slot = appointment_book.slot_at(session, "nairobi", day, at)
            seats = len(case.get("applicants", [None]))
            appointment_book.book(session, slot.id, f"run-{case_number}", case_number, seats, NOW)
        return case_number

    return book


async def test_the_day_lists_each_slot_with_the_bookings_it_holds(signed_in, booked) -> None:
    family = booked(at=time(8, 30), applicants=TWO_APPLICANTS)
    text = (await (await signed_in("officer.kim")).get(f"{DAY_LIST}?day=2026-11-23")).text
    assert "<h1>Appointments: U.S. Embassy Nairobi, Mon 23 Nov 2026</h1>" in text
    assert "2 slots, 2 applicants booked." in text
    assert '<h3 id="slot-08:00">08:00 <span class="slot-state open">0/4 booked, open</span></h3>\n  \n  <p class="hint">No bookings.</p>' in text
    row = booking_row(text, family)
    assert '<td data-label="Applicants">Wanjiru Kamau, Baraka Kamau</td>' in row
    assert '<td data-label="Seats">2</td>' in row and '<td data-label="Status">booked</td>' in row
    assert text.index('id="slot-08:00"') < text.index('id="slot-08:30"') < text.index(family)


async def test_the_day_list_shows_today_at_the_post_by_default(signed_in, booked) -> None:
    today, tomorrow = booked(MONDAY), booked(TUESDAY)
    text = (await (await signed_in("officer.kim")).get(DAY_LIST)).text
    assert "Mon 23 Nov 2026</h1>" in text
    assert today in text and tomorrow not in text


async def test_another_day_is_shown_when_asked_with_the_business_days_either_side(signed_in, booked) -> None:
    tomorrow = booked(TUESDAY)
    text = (await (await signed_in("officer.kim")).get(f"{DAY_LIST}?day=2026-11-25")).text
    assert tomorrow not in text
    # Thanksgiving is not the next business day, and Tuesday is the one before.
    assert f'href="{DAY_LIST}?day=2026-11-24" rel="prev"' in text
    assert f'href="{DAY_LIST}?day=2026-11-27" rel="next"' in text


async def test_a_day_the_post_does_not_work_says_why(signed_in) -> None:
    text = (await (await signed_in("officer.kim")).get(f"{DAY_LIST}?day=2026-11-26")).text
    assert '<span class="not-working">not a business day: Thanksgiving Day (US)</span>' in text
    assert "No slots published." not in text


async def test_a_cancelled_booking_is_not_listed_and_its_seats_are_free(signed_in, booked, db) -> None:
    case_number = booked()
    with db.begin() as session:
        appointment_book.cancel(session, request_id=f"run-{case_number}", at=NOW)
    text = (await (await signed_in("officer.kim")).get(DAY_LIST)).text
    assert case_number not in text
    assert "0/4 booked, open" in text


async def test_a_booking_of_another_post_is_not_listed(signed_in, booked, make_account) -> None:
    nairobi = booked()
    make_account("supervisor.sok", Role.SUPERVISOR, ["phnom-penh"])
    text = (await (await signed_in("supervisor.sok")).get("/posts/phnom-penh/appointments?day=2026-11-23")).text
    assert "<h1>Appointments: U.S. Embassy Phnom Penh, Mon 23 Nov 2026</h1>" in text
    assert nairobi not in text


async def test_recording_attended_sends_the_update_for_the_signed_in_officer(signed_in, booked, desk) -> None:
    case_number = booked()
    page = await signed_in("officer.kim")
    await page.get(DAY_LIST)
    response = await page.submit(
        RECORD, {"case_number": case_number, "outcome": "attended", "day": "2026-11-23", "officer_id": "officer.njeri"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{DAY_LIST}?day=2026-11-23&recorded={case_number}&outcome=attended"
    assert desk.sent == [(case_number, "record_attendance", Attendance(officer_id="officer.kim", attended=True))]
    text = (await page.get(response.headers["location"])).text
    assert notice(text) == f"Recorded: the applicants of case {case_number} attended their appointment."


async def test_recording_missed_sends_attended_false_with_the_note(signed_in, booked, desk) -> None:
    case_number = booked()
    page = await signed_in("supervisor.otieno")
    await page.get(DAY_LIST)
    response = await page.submit(
        RECORD, {"case_number": case_number, "outcome": "missed", "note": " Came at 11:00, after the slot. "}
    )
    assert response.status_code == 303
    assert desk.sent == [
        (
            case_number,
            "record_attendance",
            Attendance(officer_id="supervisor.otieno", attended=False, note="Came at 11:00, after the slot."),
        )
    ]


async def test_the_workflows_refusal_is_shown_on_the_day_list_and_nothing_is_sent(signed_in, booked, desk) -> None:
    case_number = booked(TUESDAY)
    desk.refusal = "cannot record attendance: the appointment is on 2026-11-24, and it is 2026-11-23 at U.S. Embassy Nairobi"
    page = await signed_in("officer.kim")
    await page.get(DAY_LIST)
    response = await page.submit(RECORD, {"case_number": case_number, "outcome": "attended", "day": "2026-11-24"})
    assert response.status_code == 409
    assert error(response.text) == f"Nothing was recorded: {desk.refusal}."
    assert "Tue 24 Nov 2026</h1>" in response.text and case_number in response.text  # the day it was sent from
    assert desk.sent == []


@pytest.mark.parametrize("outcome", ["", "late", "ATTENDED"])
async def test_an_outcome_other_than_attended_or_missed_is_refused(signed_in, booked, desk, outcome: str) -> None:
    case_number = booked()
    page = await signed_in("officer.kim")
    await page.get(DAY_LIST)
    response = await page.submit(RECORD, {"case_number": case_number, "outcome": outcome})
    assert response.status_code == 422
    assert error(response.text) == "Nothing was recorded: choose attended or missed."
    assert desk.sent == []


async def test_a_booked_case_of_today_has_the_form_and_one_already_recorded_only_its_status(signed_in, booked) -> None:
    waiting, came = booked(), booked(at=time(8, 30), state=RequestState.ATTENDED)
    text = (await (await signed_in("officer.kim")).get(DAY_LIST)).text
    assert f'name="case_number" value="{waiting}"' in booking_row(text, waiting)
    came_row = booking_row(text, came)
    assert '<td data-label="Status">attended</td>' in came_row and "<form" not in came_row


async def test_before_the_day_no_form_is_offered(signed_in, booked) -> None:
    tomorrow = booked(TUESDAY)
    text = (await (await signed_in("officer.kim")).get(f"{DAY_LIST}?day=2026-11-24")).text
    assert "<form" not in booking_row(text, tomorrow)
    assert "Attendance is recorded from the appointment's day on." in text


async def test_an_auditor_reads_the_day_list_without_the_forms(signed_in, booked) -> None:
    case_number = booked()
    response = await (await signed_in("auditor.lee")).get(DAY_LIST)
    assert response.status_code == 200 and case_number in response.text
    assert RECORD not in response.text and "<th>Attendance</th>" not in response.text


@pytest.mark.parametrize("name", ["auditor.lee", "admin.ana"])
async def test_only_an_officer_or_supervisor_records_attendance(signed_in, booked, desk, name: str) -> None:
    case_number = booked()
    page = await signed_in(name)
    response = await page.submit(RECORD, {"case_number": case_number, "outcome": "attended"})
    assert response.status_code == 403
    assert f"{'an auditor' if name == 'auditor.lee' else 'an admin'} may not" in response.text
    assert desk.sent == []


async def test_an_officer_of_another_post_may_neither_see_the_list_nor_record(signed_in, booked, desk) -> None:
    case_number = booked()
    page = await signed_in("officer.sok")
    for response in (
        await page.get(DAY_LIST),
        await page.submit(RECORD, {"case_number": case_number, "outcome": "attended"}),
    ):
        assert response.status_code == 403 and "nairobi is not one of your posts" in response.text
    assert desk.sent == []
    assert (await page.get("/posts/phnom-penh/appointments")).status_code == 200


async def test_an_admin_does_not_see_the_day_list(signed_in) -> None:
    response = await (await signed_in("admin.ana")).get(DAY_LIST)
    assert response.status_code == 403 and "an admin may not see requests" in response.text


async def test_a_form_without_the_sessions_csrf_token_is_refused(signed_in, booked, desk) -> None:
    case_number = booked()
    page = await signed_in("officer.kim")
    response = await page.client.post(RECORD, data={"case_number": case_number, "outcome": "attended"})
    assert response.status_code == 403 and "this form has expired" in response.text
    assert desk.sent == []


async def test_a_case_with_no_request_is_not_found(signed_in, published, desk) -> None:
    page = await signed_in("officer.kim")
    await page.get(DAY_LIST)
    response = await page.submit(RECORD, {"case_number": "NRB0000000000", "outcome": "attended"})
    assert response.status_code == 404
    assert desk.sent == []


async def test_an_unknown_post_is_not_found(signed_in) -> None:
    page = await signed_in("officer.kim")
    assert (await page.get("/posts/atlantis/appointments")).status_code == 404
    assert (await page.submit("/posts/atlantis/appointments/attendance", {"case_number": "X"})).status_code == 404


@pytest.mark.parametrize("day", ["someday", "23/11/2026", "2099-01-01"])
async def test_a_day_the_list_cannot_show_is_a_bad_request_saying_why(signed_in, day: str) -> None:
    response = await (await signed_in("officer.kim")).get(f"{DAY_LIST}?day={day}")
    assert response.status_code == 400 and "The list cannot show that: " in response.text


async def test_the_appointment_book_links_the_day_list(signed_in, published) -> None:
    text = (await (await signed_in("officer.kim")).get("/posts/nairobi/slots")).text
    assert f'<a href="{DAY_LIST}">today\'s appointments</a>' in text
    assert f'<a href="{DAY_LIST}?day=2026-11-24">Appointments of Tue 24 Nov 2026</a>' in text


async def test_the_day_list_is_marked_current_in_the_nav(signed_in) -> None:
    text = (await (await signed_in("officer.kim")).get(DAY_LIST)).text
    assert f'<a href="{DAY_LIST}" aria-current="page">Appointments · nairobi</a>' in text


async def test_nothing_of_the_day_list_is_shown_before_signing_in(browser, booked) -> None:
    booked()
    response = await browser().get(DAY_LIST)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fposts%2Fnairobi%2Fappointments"
