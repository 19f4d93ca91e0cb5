"""The post's case file and the Visa Bulletin in the app database.

Imports are all or nothing in the caller's transaction, as in repository.py: every check
runs before the first write, and an error leaves the caller to roll back. So are the
changes officers record in the console, each with a row of case_file_changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from reschedule_desk.domain.case_file import BulletinRow, CaseFile
from reschedule_desk.domain.lifecycle import OPEN_STATES
from reschedule_desk.domain.request import CaseNumber, Relationship, free_text
from reschedule_desk.storage.tables import (
    CaseFileChange,
    CaseFileChangeKind,
    CaseFileRow,
    RequestRow,
    RosterApplicantRow,
    VisaBulletinRow,
)

_case_number = TypeAdapter(CaseNumber)


class CaseOfAnotherPost(Exception):
    """A case in the file is already filed under another post; nothing was imported."""


class UnknownCase(LookupError):
    """No case of that number is in the case file."""


@dataclass(frozen=True)
class ImportReport:
    """The case numbers an import added, changed and found unchanged, in the file's order."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BulletinReport:
    """How many final action dates an import added, changed, left as they were, and
    removed (a month imported again holds the file's rows for it, no others)."""

    months: list[date]
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0


def import_cases(session: Session, cases: Sequence[CaseFile], post: str, now: datetime) -> ImportReport:
    """File `cases` under `post`, by case number: new ones added, differing ones replaced
    (their roster too), the rest left as they are."""
    numbers = [case.case_number for case in cases]
    twice = [number for number, times in Counter(numbers).items() if times > 1]
    if twice:
        raise ValueError(f"case {twice[0]} is given more than once")
    filed = {
        row.case_number: row
        for row in session.scalars(
            select(CaseFileRow)
            .where(CaseFileRow.case_number.in_(numbers))
            .options(selectinload(CaseFileRow.applicants))
        )
    }
    for number in numbers:
        if number in filed and filed[number].post != post:
            raise CaseOfAnotherPost(
                f"case {number} is filed under {filed[number].post}, not {post}: nothing was imported"
            )
    report = ImportReport()
    for case in cases:
        row = filed.get(case.case_number)
        if row is None:
            row = CaseFileRow(post=post, imported_at=now, updated_at=now)
            _fill(row, case)
            session.add(row)
            report.added.append(case.case_number)
        elif case_of(row) == case:
            report.unchanged.append(case.case_number)
        else:
            # Emptied and flushed first: the new roster reuses the old one's positions.
            row.applicants.clear()
            session.flush()
            _fill(row, case)
            row.updated_at = now
            report.changed.append(case.case_number)
    session.flush()
    return report


def case_file(session: Session, case_number: str) -> CaseFileRow | None:
    """The filed case with its roster, or None."""
    number = _case_number.validate_python(case_number)
    return session.scalar(
        select(CaseFileRow).where(CaseFileRow.case_number == number).options(selectinload(CaseFileRow.applicants))
    )


def case_of(row: CaseFileRow) -> CaseFile:
    """A filed case as the model it was imported from."""
    return CaseFile.model_validate(row, from_attributes=True)


def has_cases(session: Session) -> bool:
    return session.scalar(select(CaseFileRow.id).limit(1)) is not None


def case_at_post(session: Session, case_number: str, post: str) -> CaseFile | None:
    """The case as screening reads it: None when the post has no file of it, whether no
    post has or another post does."""
    row = case_file(session, case_number)
    return case_of(row) if row is not None and row.post == post else None


def other_open_cases_of_petitioner(session: Session, case: CaseFile, post: str) -> list[str]:
    """The other cases of `case`'s petitioner at `post` with a request open: they reschedule
    together. The petitioner is the case file's, not a name the applicant typed, and an
    identity of the post's own: another post's same id is another person."""
    rows = session.scalars(
        select(RequestRow.case_number)
        .join(CaseFileRow, CaseFileRow.case_number == RequestRow.case_number)
        .where(
            CaseFileRow.post == post,
            CaseFileRow.petitioner_id == case.petitioner_id,
            RequestRow.status.in_(OPEN_STATES),
            RequestRow.case_number != case.case_number,
        )
        .distinct()
        .order_by(RequestRow.case_number)
    )
    return list(rows)


def _fill(row: CaseFileRow, case: CaseFile) -> None:
    for name, value in case.model_dump(exclude={"applicants"}).items():
        setattr(row, name, value)
    row.applicants = [
        RosterApplicantRow(position=position, **applicant.model_dump())
        for position, applicant in enumerate(case.applicants)
    ]


def import_bulletin(session: Session, rows: Sequence[BulletinRow]) -> BulletinReport:
    """Keep the months of `rows` as they give them; other months stay as they were."""
    given = {_key(row): row for row in rows}
    if len(given) != len(rows):
        raise ValueError("a month's category and chargeability are given twice")
    months = sorted({row.month for row in rows})
    kept = {
        _key(row): row for row in session.scalars(select(VisaBulletinRow).where(VisaBulletinRow.month.in_(months)))
    }
    added = changed = unchanged = removed = 0
    for key, row in given.items():
        if key not in kept:
            session.add(VisaBulletinRow(**row.model_dump()))
            added += 1
        elif kept[key].final_action_date != row.final_action_date:
            kept[key].final_action_date = row.final_action_date
            changed += 1
        else:
            unchanged += 1
    for key, row in kept.items():
        if key not in given:
            session.delete(row)
            removed += 1
    session.flush()
    return BulletinReport(months=months, added=added, changed=changed, unchanged=unchanged, removed=removed)


def bulletin_months(session: Session) -> list[date]:
    """The months of the bulletins kept, oldest first."""
    return list(session.scalars(select(VisaBulletinRow.month).distinct().order_by(VisaBulletinRow.month)))


def bulletin_in_force(session: Session, on_date: date) -> list[BulletinRow]:
    """The final action dates of the latest month that has begun by `on_date`; [] when no
    bulletin kept is that old."""
    month = session.scalar(select(func.max(VisaBulletinRow.month)).where(VisaBulletinRow.month <= on_date))
    if month is None:
        return []
    rows = session.scalars(
        select(VisaBulletinRow)
        .where(VisaBulletinRow.month == month)
        .order_by(VisaBulletinRow.category, VisaBulletinRow.chargeability)
    )
    return [BulletinRow.model_validate(row, from_attributes=True) for row in rows]


def _key(row: BulletinRow | VisaBulletinRow) -> tuple[date, str, str]:
    return row.month, row.category, row.chargeability


# -- changes officers record ----------------------------------------------------------------


def record_cspa_confirmation(
    session: Session,
    case_number: str,
    position: int,
    confirmed_on: date,
    by: str,
    at: datetime,
    note: str | None = None,
) -> CaseFileChange:
    """The post confirmed the Child Status Protection Act eligibility of the child at
    roster `position` on `confirmed_on`; `by` is the signed-in account's name.

    ValueError, changing nothing, when the applicant there is not a child or the date is
    after the day of `at` (in `at`'s own zone) or before the child was born."""
    row = _filed(session, case_number, for_update=True)
    note = _note(note)
    _not_after_today(confirmed_on, at, "the CSPA confirmation date")
    applicant = next((applicant for applicant in row.applicants if applicant.position == position), None)
    if applicant is None:
        raise ValueError(f"case {row.case_number} has no applicant at roster position {position}")
    # Names never appear in an error message: the roster position says who.
    if applicant.relationship is not Relationship.CHILD:
        raise ValueError(
            f"roster position {position} of case {row.case_number} is the {applicant.relationship.value}, "
            "not a child: CSPA is for children"
        )
    if confirmed_on < applicant.date_of_birth:
        raise ValueError(f"the CSPA confirmation date {confirmed_on} is before the child at position {position} was born")
    before = applicant.cspa_confirmed_on
    applicant.cspa_confirmed_on = confirmed_on
    return _changed(session, row, CaseFileChangeKind.CSPA_CONFIRMATION, position, before, confirmed_on, by, at, note)


def record_contact(
    session: Session, case_number: str, contacted_on: date, by: str, at: datetime, note: str | None = None
) -> CaseFileChange:
    """The case's last contact with the post was on `contacted_on`; `by` is the signed-in
    account's name.

    ValueError, changing nothing, when the date is after the day of `at` (in `at`'s own
    zone) or earlier than the last contact already on file."""
    row = _filed(session, case_number, for_update=True)
    note = _note(note)
    _not_after_today(contacted_on, at, "the contact date")
    before = row.last_contact_on
    # Screening counts the time since the last contact: moving it back would hide one.
    if contacted_on < before:
        raise ValueError(
            f"the last contact can only move forward: case {row.case_number}'s last contact on file is "
            f"{before}, after {contacted_on}"
        )
    row.last_contact_on = contacted_on
    return _changed(session, row, CaseFileChangeKind.CONTACT, None, before, contacted_on, by, at, note)


def case_file_changes(session: Session, case_number: str) -> list[CaseFileChange]:
    """The changes officers recorded to the case's file, oldest first; UnknownCase when
    there is no such case."""
    row = _filed(session, case_number)
    return list(
        session.scalars(
            select(CaseFileChange)
            .where(CaseFileChange.case_file_id == row.id)
            .order_by(CaseFileChange.at, CaseFileChange.id)
        )
    )


def _filed(session: Session, case_number: str, *, for_update: bool = False) -> CaseFileRow:
    try:
        number = _case_number.validate_python(case_number)
    except ValueError:
        raise UnknownCase(f"there is no case {case_number} in the case file") from None
    query = select(CaseFileRow).where(CaseFileRow.case_number == number).options(selectinload(CaseFileRow.applicants))
    if for_update:
        # Locks the case on PostgreSQL, so two officers' changes to one case go in turn,
        # and reloads it even when the caller read it earlier in this transaction: the
        # checks see the values the change replaces.
        query = query.with_for_update().execution_options(populate_existing=True)
    row = session.scalar(query)
    if row is None:
        raise UnknownCase(f"there is no case {number} in the case file")
    return row


def _note(note: str | None) -> str | None:
    note = note.strip() if note else ""
    if not note:
        return None
    try:
        return free_text(note)
    except ValueError as invalid:
        raise ValueError(f"the note {invalid}") from None


def _not_after_today(day: date, at: datetime, what: str) -> None:
    if at.tzinfo is None:  # checked here too, before anything is changed
        raise ValueError(f"{at!r} has no time zone: give an aware datetime")
    if day > at.date():
        raise ValueError(f"{what} {day} is in the future: today is {at.date()}")


def _changed(
    session: Session,
    row: CaseFileRow,
    kind: CaseFileChangeKind,
    position: int | None,
    before: date | None,
    after: date,
    by: str,
    at: datetime,
    note: str | None,
) -> CaseFileChange:
    row.updated_at = at
    change = CaseFileChange(
        case_file_id=row.id,
        kind=kind,
        position=position,
        value_before=before.isoformat() if before else None,
        value_after=after.isoformat(),
        actor=by,
        at=at,
        note=note,
    )
    session.add(change)
    session.flush()
    return change
