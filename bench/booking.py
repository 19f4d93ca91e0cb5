"""Booking under contention: many applicants at once for the last seats of a day, through
the desk's own book_slot activity on its own engine (the worker's pool), on the app
database `make bench` gives it (PostgreSQL).

Each applicant tries the day's slots in an order of its own until one takes it or all are
full, as an applicant on the booking page would. Timed: every book_slot call.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock

from activities.booking import BookingActivities
from bench import load
from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.lifecycle import RequestState, Transition
from reschedule_desk.domain.posts import PostsConfig
from reschedule_desk.domain.records import BookingOrder, TransitionEntry
from reschedule_desk.domain.request import workflow_id_for
from reschedule_desk.storage import appointment_book, case_file, repository
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate

# The last seats of a day: four slots of ten.
TIMES = (clock(8, 0), clock(8, 30), clock(9, 0), clock(9, 30))
CAPACITY = 10


@dataclass(frozen=True)
class Contention:
    booked: int
    refused: int  # book_slot calls answered "full"
    filled_seconds: float  # from the first call to the day's last seat taken
    call_seconds: list[float]

    @property
    def bookings_per_second(self) -> float:
        return self.booked / self.filled_seconds


def contention(database_url: str, posts: PostsConfig, applicants: int, bookers: int) -> Contention:
    """`applicants` waiting requests, booked by `bookers` threads at once into a day of
    len(TIMES) x CAPACITY seats."""
    migrate(database_url)
    engine = make_engine(database_url, connections=bookers)  # as the worker sizes its pool
    try:
        sessions = make_sessionmaker(engine)
        post = posts.post("nairobi")
        now = datetime.now(UTC)
        calendar = build_post_calendar(post, now.date(), now.date() + timedelta(days=60))
        day = calendar.business_days_after(now.date(), 10)
        with sessions.begin() as session:
            appointment_book.publish_slots(session, post, calendar, day, day, TIMES, CAPACITY, "supervisor.bench", now)
        waiting = _awaiting_booking(sessions, applicants, now)
        book_slot = BookingActivities(sessions, posts).book_slot

        call_seconds: list[float] = []  # every call
        booked_at: list[float] = []  # every call that took a seat
        queue = iter(waiting)
        lock = threading.Lock()

        def booker() -> None:
            while True:
                with lock:
                    request = next(queue, None)
                if request is None:
                    return
                request_id, case_number = request
                for at_time in random.sample(TIMES, len(TIMES)):
                    order = BookingOrder(
                        request_id=request_id, case_number=case_number, post=post.code,
                        day=day, time=at_time, seats=1, at=datetime.now(UTC),
                    )
                    started = time.perf_counter()
                    outcome = book_slot(order)
                    elapsed = time.perf_counter() - started
                    with lock:
                        call_seconds.append(elapsed)
                        if outcome.appointment is not None:
                            booked_at.append(time.perf_counter())
                    if outcome.appointment is not None:
                        break

        threads = [threading.Thread(target=booker) for _ in range(bookers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        booked = len(booked_at)
        with sessions() as session:
            seats = sum(slot.seats_booked for slot in appointment_book.slots(session, post.code, day, day))
        if booked != len(TIMES) * CAPACITY or seats != booked:
            raise RuntimeError(f"{booked} bookings made and {seats} seats taken of {len(TIMES) * CAPACITY}")
        return Contention(
            booked=booked, refused=len(call_seconds) - booked,
            filled_seconds=max(booked_at) - started, call_seconds=call_seconds,
        )
    finally:
        engine.dispose()


def _awaiting_booking(sessions, count: int, now: datetime) -> list[tuple[str, str]]:
    """`count` filed cases with a request row each, as the step that opens booking leaves
    them (untimed)."""
    made = []
    case_numbers = [load.new_case_number() for _ in range(count)]
    with sessions.begin() as session:
        case_file.import_cases(session, [load.bench_case(number) for number in case_numbers], "nairobi", now)
    with sessions.begin() as session:
        for case_number in case_numbers:
            request = load.bench_request(case_number)
            workflow_id = workflow_id_for(case_number)
            request_id = f"{workflow_id}-bench"
            entry = TransitionEntry(
                request_id=request_id,
                workflow_id=workflow_id,
                transition=Transition(
                    step=1, at=now, from_state=RequestState.SUBMITTED, to_state=RequestState.AWAITING_BOOKING,
                    actor="system", action="open_booking",
                ),
                request=request,
            )
            repository.record_transition(session, entry, None)
            made.append((request_id, request.case_number))
    return made
