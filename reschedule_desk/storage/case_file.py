"""The post's case file and the Visa Bulletin in the app database.

Imports are all or nothing in the caller's transaction, as in repository.py: every check
runs before the first write, and an error leaves the caller to roll back.
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
from reschedule_desk.domain.request import CaseNumber
from reschedule_desk.storage.tables import CaseFileRow, RosterApplicantRow, VisaBulletinRow

_case_number = TypeAdapter(CaseNumber)


class CaseOfAnotherPost(Exception):
    """A case in the file is already filed under another post; nothing was imported."""


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
