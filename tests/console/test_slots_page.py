"""The appointment book page, /posts/POST/slots: officers, supervisors and auditors see a
post's interview slots day by day; a supervisor of the post publishes slots over a range
of days (the days the post does not work skipped and named) and closes them. The console's
clock is Monday 23 November 2026, 09:00 in Nairobi: Thursday 26 November is Thanksgiving
Day (US), Friday 25 December Christmas Day."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.console.access import Role
from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.posts import PostsConfig
from reschedule_desk.storage import appointment_book
from reschedule_desk.storage.tables import InterviewSlot
from tests.console.conftest import NOW

BOOK = "/posts/nairobi/slots"
WEEK = {"first_day": "2026-11-24", "last_day": "2026-11-30", "times": "08:00, 08:30", "capacity": "4"}


def notice(text: str) -> str | None:
    found = re.search(r'<p class="notice" role="status">(.*?)</p>', text, re.S)
    return found.group(1) if found else None


def the_book(db: sessionmaker[Session]) -> list[tuple[date, str, int, int, str | None]]:
    """(day, time, seats booked, capacity, closed by) of every Nairobi slot."""
    with db() as session:
        return [
            (slot.day, f"{slot.time:%H:%M}", slot.seats_booked, slot.capacity, slot.closed_by)
            for slot in appointment_book.slots(session, "nairobi")
        ]


def slot_count(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(InterviewSlot))


@pytest.fixture
def published(db: sessionmaker[Session], posts: PostsConfig) -> None:
    """Nairobi's Tuesday 24 November: 08:00 and 08:30, 3 applicants each."""
    post, tuesday = posts.post("nairobi"), date(2026, 11, 24)
    with db.begin() as session:
        appointment_book.publish_slots(
            session, post, build_post_calendar(post, tuesday, tuesday), tuesday, tuesday,
            [time(8), time(8, 30)], 3, "supervisor.otieno", NOW,
        )


def slot_row(text: str, day: str, at: str) -> str:
    """The table row of the slot at `at` under the day headed `day`."""
    section = text.split(f'<h3 id="day-{day}">', 1)[1].split("<h3 ", 1)[0]
    return re.search(rf'<tr class="\w+">\s*<td data-label="Time">{at}</td>.*?</tr>', section, re.S).group(0)


async def test_a_supervisor_publishes_a_week_and_is_told_the_weekend_and_the_holiday_were_skipped(
    signed_in, db
) -> None:
    page = await signed_in("supervisor.otieno")
    response = await page.submit(BOOK, WEEK)
    assert response.status_code == 303
    assert response.headers["location"] == f"{BOOK}?from=2026-11-24&to=2026-11-30&published=8&already=0"
    text = (await page.get(response.headers["location"])).text
    assert notice(text) == (
        "Published 8 slots at U.S. Embassy Nairobi from Tue 24 Nov 2026 to Mon 30 Nov 2026. "
        "Skipped, as the post does not work then: Thu 26 Nov 2026 — Thanksgiving Day (US); "
        "Sat 28 Nov 2026 — a weekend; Sun 29 Nov 2026 — a weekend."
    )
    business = [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27), date(2026, 11, 30)]
    assert the_book(db) == [(day, at, 0, 4, None) for day in business for at in ("08:00", "08:30")]
    assert '<td data-label="Booked">0/4</td>' in slot_row(text, "2026-11-27", "08:30")
    assert "Thu 26 Nov 2026 <span class=\"not-working\">not a business day: Thanksgiving Day (US)</span>" in text


async def test_publishing_slots_already_in_the_book_reports_them_and_changes_none(signed_in, published, db) -> None:
    page = await signed_in("supervisor.otieno")
    response = await page.submit(BOOK, {"first_day": "2026-11-24", "times": "08:00,09:00", "capacity": "6"})
    text = (await page.get(response.headers["location"])).text
    assert notice(text) == (
        "Published 1 slot at U.S. Embassy Nairobi on Tue 24 Nov 2026. 1 was already in the book, left as it was."
    )
    assert [(at, capacity) for _, at, _, capacity, _ in the_book(db)] == [("08:00", 3), ("08:30", 3), ("09:00", 6)]


async def test_a_single_holiday_is_refused_with_its_name_and_nothing_is_written(signed_in, db) -> None:
    response = await (await signed_in("supervisor.otieno")).submit(
        BOOK, {"first_day": "2026-12-25", "times": "08:00", "capacity": "4"}
    )
    assert response.status_code == 422
    assert (
        "Nothing was published: Friday 2026-12-25 is not a business day at U.S. Embassy Nairobi: "
        "Christmas Day (KE); Christmas Day (US)."
    ) in response.text
    assert "Appointment book: U.S. Embassy Nairobi" in response.text  # the page again, form and all
    assert 'value="2026-12-25"' in response.text  # as the supervisor typed it
    assert slot_count(db) == 0


@pytest.mark.parametrize("capacity", ["0", "51", "many", ""])
async def test_a_capacity_outside_1_to_50_applicants_is_refused_and_nothing_is_written(
    signed_in, db, capacity: str
) -> None:
    response = await (await signed_in("supervisor.otieno")).submit(BOOK, {**WEEK, "capacity": capacity})
    assert response.status_code == 422
    assert (
        f"Nothing was published: the capacity must be 1 to 50 applicants, not {capacity}."
        if capacity.isdigit()
        else f"Nothing was published: the capacity &#39;{capacity}&#39; is not a whole number of applicants."
    ) in response.text
    assert slot_count(db) == 0


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"times": "07:30"}, "07:30 is outside U.S. Embassy Nairobi&#39;s opening hours, 08:00 to 16:30"),
        ({"times": "8h00"}, "&#39;8h00&#39; is not a time of day: give HH:MM, e.g. 08:30"),
        ({"times": ""}, "give at least one time for the slots, e.g. 08:00"),
        ({"first_day": "2026-11-20"}, "2026-11-20 has passed at U.S. Embassy Nairobi, where it is 2026-11-23 now"),
        ({"first_day": "2026-11-30", "last_day": "2026-11-24"}, "the first day 2026-11-30 is after the last day"),
        ({"first_day": "24/11/2026"}, "the first day &#39;24/11/2026&#39; is not a date (YYYY-MM-DD)"),
    ],
)
async def test_a_time_outside_opening_hours_or_a_day_that_has_passed_is_refused_saying_why(
    signed_in, db, changes: dict[str, str], reason: str
) -> None:
    response = await (await signed_in("supervisor.otieno")).submit(BOOK, {**WEEK, **changes})
    assert response.status_code == 422
    assert f"Nothing was published: {reason}" in response.text
    assert slot_count(db) == 0


async def test_closing_a_slot_shows_it_closed_by_whom_and_its_bookings_stay(signed_in, published, db) -> None:
    page = await signed_in("supervisor.otieno")
    await page.get(f"{BOOK}?from=2026-11-24&to=2026-11-27")
    response = await page.submit(
        f"{BOOK}/close", {"day": "2026-11-24", "time": "08:30", "view_from": "2026-11-24", "view_to": "2026-11-27"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{BOOK}?from=2026-11-24&to=2026-11-27&closed=2026-11-24&at=08%3A30"
    text = (await page.get(response.headers["location"])).text
    assert notice(text) == (
        "The 08:30 slot of Tue 24 Nov 2026 is closed to new bookings; the 0 of 3 seats booked in it stay booked."
    )
    row = slot_row(text, "2026-11-24", "08:30")
    assert '<td data-label="State">closed by supervisor.otieno, Mon 23 Nov 2026, 09:00 EAT</td>' in row
    assert "/slots/close" not in row  # nothing left to close
    assert "/slots/close" in slot_row(text, "2026-11-24", "08:00")
    assert [(at, closed_by) for _, at, _, _, closed_by in the_book(db)] == [
        ("08:00", None), ("08:30", "supervisor.otieno")
    ]


async def test_closing_a_slot_not_in_the_book_is_refused_saying_so(signed_in, db) -> None:
    response = await (await signed_in("supervisor.otieno")).submit(
        f"{BOOK}/close", {"day": "2026-11-24", "time": "08:00"}
    )
    assert response.status_code == 422
    assert "Nothing was closed: nairobi has no slot on 2026-11-24 at 08:00." in response.text


async def test_the_book_shows_booked_seats_of_capacity_and_a_full_slot_as_full(
    signed_in, published, store_request, db
) -> None:
    case_number = store_request()
    with db.begin() as session:
        eight = appointment_book.slot_at(session, "nairobi", date(2026, 11, 24), time(8))
        appointment_book.book(session, eight.id, f"run-{case_number}", case_number, 3, NOW)
    text = (await (await signed_in("officer.kim")).get(BOOK)).text
    assert '<td data-label="Booked">3/3</td>\n      <td data-label="State">full</td>' in slot_row(
        text, "2026-11-24", "08:00"
    )
    assert '<td data-label="Booked">0/3</td>\n      <td data-label="State">open</td>' in slot_row(
        text, "2026-11-24", "08:30"
    )
    assert case_number not in text  # the book shows seats, not who holds them


async def test_the_book_shows_the_posts_next_ten_business_days_by_default(signed_in) -> None:
    text = (await (await signed_in("officer.kim")).get(BOOK)).text
    days = re.findall(r'<h3 id="day-([\d-]+)">', text)
    # Today counts; Thanksgiving and the weekends do not.
    assert (days[0], days[-1], len(days)) == ("2026-11-23", "2026-12-07", 15)
    assert '<h3 id="day-2026-11-23">Mon 23 Nov 2026</h3>\n  \n  <p class="hint">No slots published.</p>' in text


async def test_an_officer_of_the_post_sees_the_book_without_the_forms(signed_in, published) -> None:
    response = await (await signed_in("officer.kim")).get(BOOK)
    assert response.status_code == 200
    assert '<td data-label="Time">08:30</td>' in response.text
    assert f'method="post" action="{BOOK}"' not in response.text and "/slots/close" not in response.text


@pytest.mark.parametrize("name", ["officer.kim", "auditor.lee", "admin.ana"])
@pytest.mark.parametrize(
    ("path", "form"), [("", WEEK), ("/close", {"day": "2026-11-24", "time": "08:00"})], ids=["publish", "close"]
)
async def test_only_a_supervisor_of_the_post_publishes_or_closes_slots(
    signed_in, published, db, name: str, path: str, form: dict[str, str]
) -> None:
    before = the_book(db)
    response = await (await signed_in(name)).submit(f"{BOOK}{path}", form)
    assert response.status_code == 403
    assert "may not publish or close a post&#39;s interview slots" in response.text
    assert the_book(db) == before


async def test_a_supervisor_of_another_post_may_neither_see_nor_change_the_book(
    signed_in, make_account, published, db
) -> None:
    make_account("supervisor.sok", Role.SUPERVISOR, ["phnom-penh"])
    before = the_book(db)
    page = await signed_in("supervisor.sok")
    for response in (
        await page.get(BOOK),
        await page.submit(BOOK, WEEK),
        await page.submit(f"{BOOK}/close", {"day": "2026-11-24", "time": "08:00"}),
    ):
        assert response.status_code == 403 and "nairobi is not one of your posts" in response.text
    assert the_book(db) == before
    assert (await page.get("/posts/phnom-penh/slots")).status_code == 200


@pytest.mark.parametrize("post", ["nairobi", "phnom-penh"])
async def test_an_auditor_reads_every_posts_book_without_the_forms(signed_in, post: str) -> None:
    response = await (await signed_in("auditor.lee")).get(f"/posts/{post}/slots")
    assert response.status_code == 200
    assert 'name="capacity"' not in response.text


async def test_an_admin_does_not_see_the_book(signed_in) -> None:
    response = await (await signed_in("admin.ana")).get(BOOK)
    assert response.status_code == 403 and "an admin may not see requests" in response.text


@pytest.mark.parametrize(
    ("path", "form"), [("", WEEK), ("/close", {"day": "2026-11-24", "time": "08:00"})], ids=["publish", "close"]
)
async def test_a_form_without_the_sessions_csrf_token_is_refused(
    signed_in, published, db, path: str, form: dict[str, str]
) -> None:
    page = await signed_in("supervisor.otieno")
    before = the_book(db)
    response = await page.client.post(f"{BOOK}{path}", data=form)
    assert response.status_code == 403 and "this form has expired" in response.text
    forged = await page.client.post(f"{BOOK}{path}", data={**form, "csrf_token": "forged"})
    assert forged.status_code == 403
    assert the_book(db) == before


async def test_an_unknown_post_is_not_found(signed_in) -> None:
    page = await signed_in("supervisor.otieno")
    assert (await page.get("/posts/atlantis/slots")).status_code == 404
    assert (await page.submit("/posts/atlantis/slots", WEEK)).status_code == 404
    assert (await page.submit("/posts/atlantis/slots/close", {"day": "2026-11-24", "time": "08:00"})).status_code == 404


@pytest.mark.parametrize(
    "query", ["from=2026-11-30&to=2026-11-24", "from=someday", "from=2026-01-01&to=2027-06-30", "from=2099-01-01"]
)
async def test_a_range_the_book_cannot_show_is_a_bad_request_saying_why(signed_in, query: str) -> None:
    response = await (await signed_in("officer.kim")).get(f"{BOOK}?{query}")
    assert response.status_code == 400 and "The book cannot show that: " in response.text


@pytest.mark.parametrize(
    ("name", "links"),
    [
        ("supervisor.otieno", ["/posts/nairobi/slots", "/posts/nairobi/appointments"]),
        ("officer.sok", ["/posts/phnom-penh/slots", "/posts/phnom-penh/appointments"]),
        (
            "auditor.lee",
            [
                "/posts/nairobi/slots",
                "/posts/nairobi/appointments",
                "/posts/phnom-penh/slots",
                "/posts/phnom-penh/appointments",
            ],
        ),
        ("admin.ana", []),
    ],
)
async def test_the_nav_links_the_book_and_the_days_appointments_of_each_post_the_account_sees(signed_in, name: str, links: list[str]) -> None:
    page = await signed_in(name)
    text = (await page.get("/accounts" if name == "admin.ana" else "/")).text
    nav = text.split('<nav aria-label="Pages">', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="(/posts/[^"]+)"', nav) == links


async def test_nothing_of_the_book_is_shown_before_signing_in(browser, published) -> None:
    response = await browser().get(BOOK)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fposts%2Fnairobi%2Fslots"
