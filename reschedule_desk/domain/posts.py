"""Posts are configuration, not code: the schema of `posts.toml` and its parser.

A new post is a new `[posts.<code>]` table. Parsing is pure (text in, models out) so the
same errors reach the worker at start-up, the API and the tests.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, time
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reschedule_desk.domain.request import ReasonCategory, VisaClass


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def iso_number(self) -> int:
        """Monday is 1, as date.isoweekday()."""
        return list(Weekday).index(self) + 1


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Closure(_Config):
    """A day the post is closed that no holiday list knows (e.g. an announced closure)."""

    date: date
    reason: str = Field(min_length=1)


class HoursBeforeClosing(_Config):
    """Booking closes a fixed number of hours before the appointment (Nairobi: 48)."""

    kind: Literal["hours_before"]
    hours: int = Field(gt=0, le=24 * 14)


class PreviousWorkingDayClosing(_Config):
    """Booking closes at a time of the previous working day (Phnom Penh: 11:00)."""

    kind: Literal["previous_working_day_at"]
    at: time


AppointmentClosingRule = Annotated[
    HoursBeforeClosing | PreviousWorkingDayClosing, Field(discriminator="kind")
]


class Windows(_Config):
    """Every wait of a request, in the post's business days."""

    review_business_days: int = Field(gt=0, le=120)
    answer_business_days: int = Field(gt=0, le=120)
    reminder_lead_business_days: int = Field(ge=1, le=30)
    approval_release_business_days: int = Field(ge=0, le=30)
    # The pages say only to "return to the website and schedule a new appointment"; how
    # long the approval holds is the post's choice. Histories recorded before booking
    # existed have no such field: they never reach it.
    booking_business_days: int = Field(default=20, gt=0, le=120)

    @model_validator(mode="after")
    def _reminder_inside_windows(self) -> Windows:
        shortest = min(self.review_business_days, self.answer_business_days, self.booking_business_days)
        if self.reminder_lead_business_days >= shortest:
            raise ValueError(
                f"reminder_lead_business_days ({self.reminder_lead_business_days}) must be shorter "
                f"than the shortest window ({shortest})"
            )
        return self


class Contacts(_Config):
    scheduling_url: str
    inquiry_url: str
    unit_email: str = Field(description="The IV unit's mailbox: review reminders go there.")
    phone_local: str | None = None
    phone_us: str | None = None
    interview_preparation_url: str | None = None


class Post(_Config):
    code: str = Field(description="The key of the post's table, e.g. nairobi.")
    name: str
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 code of the host country.")
    time_zone: str
    opening_time: time
    closing_time: time
    weekend: list[Weekday] = Field(min_length=1, max_length=3)
    closures: list[Closure] = Field(default_factory=list)
    eligible_reasons: list[ReasonCategory] = Field(min_length=1)
    excluded_visa_classes: list[VisaClass] = Field(default_factory=list)
    appointment_closing: AppointmentClosingRule
    cancel_notice_working_days: int = Field(ge=0, le=30)
    no_slots_retry_hours: int = Field(default=72, gt=0)
    windows: Windows
    contacts: Contacts
    deny_reasons: list[str] = Field(
        default_factory=list,
        description="The post's standard reasons for a denial, offered in the console; "
        "an officer may also write one.",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Africa/Nairobi") from None
        return value

    @model_validator(mode="after")
    def _opens_before_it_closes(self) -> Post:
        if self.opening_time >= self.closing_time:
            raise ValueError(
                f"opening_time {self.opening_time} must be before closing_time {self.closing_time}"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class PostsConfig(_Config):
    posts: dict[str, Post]

    def post(self, code: str) -> Post:
        try:
            return self.posts[code]
        except KeyError:
            known = ", ".join(sorted(self.posts))
            raise UnknownPost(f"unknown post {code!r}; known posts: {known}") from None


class UnknownPost(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class PostsConfigError(ValueError):
    """The posts file is not valid; the message names the file, the line and the field."""


def parse_posts(text: str, source: str = "posts.toml") -> PostsConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PostsConfigError(f"{source}: {error}") from None
    if "visa_bulletin" in raw:
        raise PostsConfigError(
            f"{source}: visa_bulletin: the Visa Bulletin is data now, not configuration: "
            "import its months with `reschedule bulletin import FILE`"
        )
    for code, table in (raw.get("posts") or {}).items():
        if isinstance(table, dict):
            table.setdefault("code", code)
    try:
        return PostsConfig.model_validate(raw)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            location = problem["loc"]
            if problem["type"] in ("union_tag_invalid", "union_tag_not_found"):
                # The table is fine but for its tag: name the tag's line (e.g. `kind`).
                location = (*location, problem["ctx"]["discriminator"].strip("'"))
            path = ".".join(str(part) for part in location)
            line = _line_of(text, location)
            where = f"{source}:{line}" if line else source
            problems.append(f"{where}: {path}: {problem['msg']}")
        raise PostsConfigError("\n".join(problems)) from None


def _line_of(text: str, location: tuple) -> int | None:
    """The line of the key named by a validation error's location, else of its table."""
    keys = [part for part in location if isinstance(part, str)]
    lines = [line.strip() for line in text.splitlines()]
    table_start, depth = 0, 0
    for candidate in range(len(keys), 0, -1):
        header = "[" + ".".join(keys[:candidate]) + "]"
        if header in lines:
            table_start, depth = lines.index(header), candidate
            break
    if depth == len(keys):
        return table_start + 1 if depth else None
    # The most specific key first: a location may hold parts that are not keys in the file,
    # such as the tag of appointment_closing (…appointment_closing.hours_before.hours).
    for key in reversed(keys[depth:]):
        key_line = re.compile(rf"{re.escape(key)}\s*=")
        for number in range(table_start + (1 if depth else 0), len(lines)):
            if lines[number].startswith("["):
                break
            if key_line.match(lines[number]):
                return number + 1
    return table_start + 1 if depth else None
