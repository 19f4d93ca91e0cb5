"""Business days of a post: not its weekend, not a host-country or US federal holiday,
not a configured closure; all in the post's time zone.

`PostCalendar` is a snapshot (a pydantic model) so that it can travel through workflow
history: the workflow computes every deadline from the very calendar the activity built
and the auditor sees which holidays were skipped, even after the `holidays` package or the
posts file change. Only `build_post_calendar` touches the `holidays` package.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from reschedule_desk.domain.posts import Post

# The US holidays every post observes, whatever its host country.
US_COUNTRY = "US"


class OutsideCalendar(ValueError):
    """Asked about a date the snapshot does not cover."""


class PostCalendar(BaseModel):
    model_config = ConfigDict(frozen=True)

    post: str
    time_zone: str
    opening_time: time
    closing_time: time
    weekend: frozenset[int] = Field(description="ISO weekday numbers, Monday = 1.")
    non_business_days: dict[date, str] = Field(
        description="Holidays and closures on weekdays and weekends alike, with their names."
    )
    first_day: date
    last_day: date

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def _check_covered(self, day: date) -> None:
        if not self.first_day <= day <= self.last_day:
            raise OutsideCalendar(
                f"{day} is outside the {self.post} calendar ({self.first_day} to {self.last_day})"
            )

    def is_business_day(self, day: date) -> bool:
        self._check_covered(day)
        return day.isoweekday() not in self.weekend and day not in self.non_business_days

    def business_days_after(self, start: date, count: int) -> date:
        """The `count`-th business day strictly after `start` (`start` itself if count is 0)."""
        if count < 0:
            raise ValueError("count of business days must not be negative")
        day = start
        while count:
            day += timedelta(days=1)
            if self.is_business_day(day):
                count -= 1
        return day

    def business_days_before(self, end: date, count: int) -> date:
        """The `count`-th business day strictly before `end`."""
        if count < 0:
            raise ValueError("count of business days must not be negative")
        day = end
        while count:
            day -= timedelta(days=1)
            if self.is_business_day(day):
                count -= 1
        return day

    def skipped_between(self, start: date, end: date) -> dict[date, str]:
        """The named non-business days strictly after `start`, up to and including `end`."""
        return {d: name for d, name in sorted(self.non_business_days.items()) if start < d <= end}

    def business_days_between(self, first_day: date, last_day: date) -> tuple[list[date], dict[date, str]]:
        """The business days from `first_day` to `last_day`, both included, and the other
        days with why the post does not work on them: "Jamhuri Day (KE); a weekend"."""
        named = self.skipped_between(first_day - timedelta(days=1), last_day)
        days: list[date] = []
        others: dict[date, str] = {}
        day = first_day
        while day <= last_day:
            if self.is_business_day(day):
                days.append(day)
            else:
                reasons = [named[day]] if day in named else []
                if day.isoweekday() in self.weekend:
                    reasons.append("a weekend")
                others[day] = "; ".join(reasons)
            day += timedelta(days=1)
        return days, others

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def opening_on(self, day: date) -> datetime:
        return datetime.combine(day, self.opening_time, tzinfo=self.zone)

    def closing_on(self, day: date) -> datetime:
        return datetime.combine(day, self.closing_time, tzinfo=self.zone)

    def release_time(self, submitted_at: datetime, business_days: int) -> datetime:
        """When an approval email may go out: the post's opening time on the
        `business_days`-th business day strictly after the local date of submission."""
        return self.opening_on(self.business_days_after(self.local_date(submitted_at), business_days))

    def window_end(self, started_at: datetime, business_days: int) -> datetime:
        """A waiting window runs to the post's closing time of its last business day."""
        return self.closing_on(self.business_days_after(self.local_date(started_at), business_days))

    def reminder_time(self, window_ends_at: datetime, lead_business_days: int) -> datetime:
        """Reminders go out at opening time, `lead_business_days` before the window's last day."""
        return self.opening_on(
            self.business_days_before(self.local_date(window_ends_at), lead_business_days)
        )


def build_post_calendar(post: Post, first_day: date, last_day: date) -> PostCalendar:
    """The post's calendar from the `holidays` package and the post's configured closures."""
    import holidays  # imported here: the workflow only ever sees the finished snapshot

    years = list(range(first_day.year, last_day.year + 1))
    non_business: dict[date, list[str]] = {}
    for country in (post.country, US_COUNTRY):
        for day, name in holidays.country_holidays(country, years=years).items():
            if first_day <= day <= last_day:
                non_business.setdefault(day, []).append(f"{name} ({country})")
    for closure in post.closures:
        if first_day <= closure.date <= last_day:
            non_business.setdefault(closure.date, []).append(f"Post closed: {closure.reason}")
    return PostCalendar(
        post=post.code,
        time_zone=post.time_zone,
        opening_time=post.opening_time,
        closing_time=post.closing_time,
        weekend=frozenset(day.iso_number for day in post.weekend),
        non_business_days={day: "; ".join(names) for day, names in sorted(non_business.items())},
        first_day=first_day,
        last_day=last_day,
    )
