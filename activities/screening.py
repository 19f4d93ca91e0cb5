"""Gather what screening needs from outside the request, once, at submission."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from reschedule_desk.domain.calendar import PostCalendar, build_post_calendar
from reschedule_desk.domain.posts import PostsConfig, UnknownPost
from reschedule_desk.domain.records import GATHER_SCREENING_FACTS, ScreeningFacts, ScreeningQuery
from reschedule_desk.storage import repository

# The calendar snapshot covers every window a request can reach, with room for extensions.
CALENDAR_SPAN = timedelta(days=2 * 366)
# Calendars kept built: one per post and local day of submission, so a few days of every post.
CACHED_CALENDARS = 64


class ScreeningActivities:
    def __init__(self, sessions: sessionmaker[Session], posts: PostsConfig) -> None:
        self._sessions = sessions
        self._posts = posts
        # Every request submitted at a post on the same local day gets the same snapshot,
        # and building one from the `holidays` package was the costliest part of screening
        # (bench/, item 1). The posts file and the package do not change while a worker runs.
        self._calendar = lru_cache(maxsize=CACHED_CALENDARS)(self._build_calendar)

    def _build_calendar(self, post_code: str, submitted_on: date) -> PostCalendar:
        return build_post_calendar(self._posts.post(post_code), submitted_on, submitted_on + CALENDAR_SPAN)

    @activity.defn(name=GATHER_SCREENING_FACTS)
    def gather_screening_facts(self, query: ScreeningQuery) -> ScreeningFacts:
        try:
            post = self._posts.post(query.post)
        except UnknownPost as unknown:
            # The API refuses unknown posts; this guards starts from Temporal's own tools.
            raise ApplicationError(str(unknown), type="UnknownPost", non_retryable=True) from None
        submitted_on = query.submitted_at.astimezone(post.zone).date()
        with self._sessions() as session:
            other_cases = repository.open_cases_of_petitioner(
                session, query.petitioner, excluding_case=query.case_number
            )
        return ScreeningFacts(
            post=post,
            visa_bulletin=self._posts.visa_bulletin,
            calendar=self._calendar(post.code, submitted_on),
            other_open_cases_of_petitioner=other_cases,
        )
