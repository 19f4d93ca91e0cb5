"""The screening activity: the facts a request is screened on, gathered at submission."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from temporalio.testing import ActivityEnvironment

from activities.screening import CALENDAR_SPAN, ScreeningActivities
from reschedule_desk.domain.records import ScreeningQuery
from reschedule_desk.domain.request import Petitioner
from reschedule_desk.storage.database import make_engine, make_sessionmaker


def query(case_number: str, submitted_at: datetime, post: str = "nairobi") -> ScreeningQuery:
    return ScreeningQuery(
        case_number=case_number,
        post=post,
        petitioner=Petitioner(full_name=f"Petitioner of {case_number}"),
        submitted_at=submitted_at,
    )


@pytest.fixture
def activities(desk_settings) -> Iterator[ScreeningActivities]:
    engine = make_engine(desk_settings.database_url)
    yield ScreeningActivities(make_sessionmaker(engine), desk_settings.posts)
    engine.dispose()


def test_the_calendar_runs_from_the_local_day_of_submission(activities) -> None:
    # 22:30 UTC on 1 December is already 2 December in Nairobi (UTC+3).
    facts = ActivityEnvironment().run(
        activities.gather_screening_facts, query("NRB2024000001", datetime(2026, 12, 1, 22, 30, tzinfo=UTC))
    )
    assert facts.calendar.first_day == date(2026, 12, 2)
    assert facts.calendar.last_day == date(2026, 12, 2) + CALENDAR_SPAN
    assert date(2026, 12, 25) in facts.calendar.non_business_days


def test_requests_submitted_at_a_post_on_the_same_day_share_one_calendar(activities) -> None:
    environment = ActivityEnvironment()
    morning = environment.run(activities.gather_screening_facts, query("NRB2024000001", datetime(2026, 12, 2, 6, tzinfo=UTC)))
    evening = environment.run(activities.gather_screening_facts, query("NRB2024000002", datetime(2026, 12, 2, 18, tzinfo=UTC)))
    assert evening.calendar is morning.calendar


def test_the_next_day_or_another_post_gets_a_calendar_of_its_own(activities) -> None:
    environment = ActivityEnvironment()
    today = environment.run(activities.gather_screening_facts, query("NRB2024000001", datetime(2026, 12, 2, 6, tzinfo=UTC)))
    tomorrow = environment.run(activities.gather_screening_facts, query("NRB2024000002", datetime(2026, 12, 3, 6, tzinfo=UTC)))
    phnom_penh = environment.run(
        activities.gather_screening_facts, query("PHP2024000001", datetime(2026, 12, 2, 6, tzinfo=UTC), post="phnom-penh")
    )
    assert tomorrow.calendar.first_day == date(2026, 12, 3)
    assert phnom_penh.calendar.post == "phnom-penh"
    assert len({id(today.calendar), id(tomorrow.calendar), id(phnom_penh.calendar)}) == 3
