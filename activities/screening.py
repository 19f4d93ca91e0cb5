"""Gather what screening decides on besides the request, once, at submission: the post's
case file, the Visa Bulletin in force, the petitioner's other open cases, the calendar."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from reschedule_desk.domain.calendar import PostCalendar, build_post_calendar
from reschedule_desk.domain.case_file import ALL_CHARGEABILITY, final_action_for
from reschedule_desk.domain.posts import Post, PostsConfig, UnknownPost
from reschedule_desk.domain.records import (
    GATHER_SCREENING_FACTS,
    READ_CASE_FILE,
    CaseFileFacts,
    CaseFileQuery,
)
from reschedule_desk.domain.self_reported import ScreeningFacts, ScreeningQuery, VisaBulletin
from reschedule_desk.storage import case_file, repository

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

    def _post(self, code: str) -> Post:
        try:
            return self._posts.post(code)
        except UnknownPost as unknown:
            # The API refuses unknown posts; this guards starts from Temporal's own tools.
            raise ApplicationError(str(unknown), type="UnknownPost", non_retryable=True) from None

    @activity.defn(name=READ_CASE_FILE)
    def read_case_file(self, query: CaseFileQuery) -> CaseFileFacts:
        post = self._post(query.post)
        submitted_on = query.submitted_at.astimezone(post.zone).date()
        with self._sessions() as session:
            case = case_file.case_at_post(session, query.case_number, post.code)
            bulletin = case_file.bulletin_in_force(session, submitted_on)
            others = case_file.other_open_cases_of_petitioner(session, case, post.code) if case else []
        return CaseFileFacts(
            post=post,
            calendar=self._calendar(post.code, submitted_on),
            case=case,
            bulletin_month=bulletin[0].month if bulletin else None,
            final_action=final_action_for(bulletin, case.preference_category, case.chargeability) if case else None,
            other_open_cases_of_petitioner=others,
        )

    @activity.defn(name=GATHER_SCREENING_FACTS)
    def gather_screening_facts(self, query: ScreeningQuery) -> ScreeningFacts:
        """For a request whose workflow started before screening read the case file and had
        asked for these facts already (self_reported.py); the bulletin is the one in force."""
        post = self._post(query.post)
        submitted_on = query.submitted_at.astimezone(post.zone).date()
        with self._sessions() as session:
            other_cases = repository.open_cases_of_petitioner(
                session, query.petitioner, excluding_case=query.case_number
            )
            bulletin = case_file.bulletin_in_force(session, submitted_on)
        return ScreeningFacts(
            post=post,
            visa_bulletin=VisaBulletin(
                as_of=f"{bulletin[0].month:%Y-%m}" if bulletin else "none",
                final_action_dates={
                    row.category: row.final_action_date or "C" for row in bulletin if row.chargeability == ALL_CHARGEABILITY
                },
            ),
            calendar=self._calendar(post.code, submitted_on),
            other_open_cases_of_petitioner=other_cases,
        )
