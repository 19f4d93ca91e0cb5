"""The post's case file and the Visa Bulletin, as the post exports them: models and parsers.

Pure (text in, models out): a bad file raises one CaseFileError naming where (the CSV
line, or the JSON item counted from 0) and the field, and nothing is returned.

Case file, CSV (`*.csv`): a header naming every column below, in any order, then one row
per applicant on the appointment letter (Packet 4). The case's columns are repeated on
each of its applicants' rows and must agree; an empty cell is "none" for the columns
that may be empty.

    case columns
      case_number              e.g. NRB2024100001
      visa_class               the case's class now, e.g. IR1, F2A, K1
      visa_class_on_letter     the class on the appointment letter, only when it was changed (may be empty)
      priority_date            YYYY-MM-DD (may be empty: immediate relatives, K-1)
      preference_category      the Visa Bulletin category, e.g. F2A, E3, DV; IR for immediate
                               relatives and K for fiance(e)s, whom the bulletin does not list
      chargeability            the country the visa is charged to, two letters, e.g. KE, KH
      petitioner_id            the post's identity of the petitioner (not a name), e.g. NRB-P-000417
      original_appointment_at  YYYY-MM-DDTHH:MM, the post's local time, no offset
      interviewed_on           YYYY-MM-DD (may be empty: not interviewed)
      last_contact_on          YYYY-MM-DD, the principal applicant's last contact with the post
    applicant columns
      full_name                as on the letter
      date_of_birth            YYYY-MM-DD
      relationship             principal, spouse or child (exactly one principal a case)
      marital_status           single, married, divorced or widowed
      cspa_confirmed_on        YYYY-MM-DD, when the post confirmed Child Status Protection Act
                               eligibility (may be empty: it has not)

Case file, JSON (`*.json`): a list of cases, each an object of the case columns and
`applicants`, a list of objects of the applicant columns; null or absent for "none".

Visa Bulletin, CSV: columns month (YYYY-MM), category (as preference_category),
chargeability (two letters, or ALL for all chargeability areas not listed on their own),
final_action_date (YYYY-MM-DD, or the word current); one row per (month, category,
chargeability).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NaiveDatetime,
    StringConstraints,
    ValidationError,
    field_validator,
)

from reschedule_desk.domain.request import CaseNumber, MaritalStatus, PersonName, Relationship, VisaClass

ALL_CHARGEABILITY = "ALL"
CURRENT = "current"


class CaseFileError(ValueError):
    """A bad row of an export: `where` is "line N" or "item N", `field` the column."""

    def __init__(self, source: str, where: str, field: str, problem: str) -> None:
        super().__init__(f"{source} {where}: {field}: {problem}")
        self.where, self.field = where, field


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _category(value: str) -> str:
    cleaned = re.sub(r"[\s\-]", "", value).upper()
    if not re.fullmatch(r"[A-Z]{1,3}[0-9]{0,2}[A-Z]?", cleaned):
        raise ValueError(f"{value!r} is not a Visa Bulletin category such as F2A, E3, DV, or IR or K")
    return cleaned


def _month(value: Any) -> Any:
    """"2026-11" is the bulletin of November 2026, kept as its first day."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}", value.strip()):
        year, month = value.strip().split("-")
        if not 1 <= int(month) <= 12:
            raise ValueError(f"{value!r} is not a month: YYYY-MM")
        return date(int(year), int(month), 1)
    return value


def _first_of_month(value: date) -> date:
    if value.day != 1:
        raise ValueError("a bulletin's month is YYYY-MM (or the 1st of the month)")
    return value


def _current_is_none(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() == CURRENT:
        return None
    return value


Category = Annotated[str, AfterValidator(_category)]
Country = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z]{2}$")]
Chargeability = Annotated[
    str, BeforeValidator(_upper), StringConstraints(pattern=rf"^([A-Z]{{2}}|{ALL_CHARGEABILITY})$")
]
PetitionerId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
]
BulletinMonth = Annotated[date, BeforeValidator(_month), AfterValidator(_first_of_month)]


class _Model(BaseModel):
    # Names and dates of birth never appear in an error message.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class RosterApplicant(_Model):
    """One applicant named on the appointment letter (Packet 4)."""

    full_name: PersonName
    date_of_birth: date
    relationship: Relationship
    marital_status: MaritalStatus
    cspa_confirmed_on: date | None = None


class CaseColumns(_Model):
    """A case's own facts, as the post holds them: everything but the roster."""

    case_number: CaseNumber
    visa_class: VisaClass
    visa_class_on_letter: VisaClass | None = None
    priority_date: date | None = None
    preference_category: Category
    chargeability: Country
    petitioner_id: PetitionerId
    original_appointment_at: NaiveDatetime  # the post's local time
    interviewed_on: date | None = None
    last_contact_on: date


class CaseFile(CaseColumns):
    """One case of the post's case file, with its Packet 4 roster."""

    applicants: list[RosterApplicant] = Field(min_length=1, max_length=20)

    @field_validator("applicants")
    @classmethod
    def _one_principal(cls, applicants: list[RosterApplicant]) -> list[RosterApplicant]:
        principals = sum(applicant.relationship is Relationship.PRINCIPAL for applicant in applicants)
        if principals != 1:
            raise ValueError(f"a case has exactly one principal applicant, not {principals}")
        return applicants


class BulletinRow(_Model):
    """One final action date of a month's Visa Bulletin; None means current."""

    month: BulletinMonth
    category: Category
    chargeability: Chargeability
    final_action_date: Annotated[date | None, BeforeValidator(_current_is_none)]


CASE_COLUMNS = tuple(CaseColumns.model_fields)
APPLICANT_COLUMNS = tuple(RosterApplicant.model_fields)
BULLETIN_COLUMNS = tuple(BulletinRow.model_fields)


def parse_case_file(text: str, source: str) -> list[CaseFile]:
    """The cases of a CSV or JSON export, told apart by `source`'s extension."""
    if source.lower().endswith(".csv"):
        return parse_case_file_csv(text, source)
    if source.lower().endswith(".json"):
        return parse_case_file_json(text, source)
    raise CaseFileError(source, "name", "extension", "a case file is a .csv or a .json export")


def parse_case_file_csv(text: str, source: str = "case file") -> list[CaseFile]:
    columns: dict[str, CaseColumns] = {}  # by case number, in the file's order
    first_lines: dict[str, int] = {}
    rosters: dict[str, list[RosterApplicant]] = {}
    for line, cells in _csv_rows(text, source, CASE_COLUMNS + APPLICANT_COLUMNS):
        case = _validated(CaseColumns, _only(cells, CASE_COLUMNS), source, f"line {line}")
        applicant = _validated(RosterApplicant, _only(cells, APPLICANT_COLUMNS), source, f"line {line}")
        number = case.case_number
        if number not in columns:
            columns[number], first_lines[number], rosters[number] = case, line, []
        elif case != columns[number]:
            field = next(name for name in CASE_COLUMNS if getattr(case, name) != getattr(columns[number], name))
            raise CaseFileError(
                source, f"line {line}", field,
                f"differs from line {first_lines[number]} of the same case: a case's columns agree on every row",
            )
        rosters[number].append(applicant)
    cases = []
    for number, case in columns.items():
        try:
            cases.append(CaseFile(**dict(case), applicants=rosters[number]))
        except ValidationError as error:
            # What only the whole roster shows: its principal (or too many applicants).
            problem = error.errors()[0]
            field = "relationship" if problem["type"] == "value_error" else "applicants"
            raise CaseFileError(source, f"line {first_lines[number]}", field, _message(problem)) from None
    return cases


def _only(cells: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: value for name, value in cells.items() if name in names}


def parse_case_file_json(text: str, source: str = "case file") -> list[CaseFile]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise CaseFileError(source, f"line {error.lineno}", "JSON", error.msg) from None
    if not isinstance(items, list):
        raise CaseFileError(source, "line 1", "JSON", "a case file is a list of cases")
    cases: list[CaseFile] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        case = _validated(CaseFile, item, source, f"item {index}")
        if case.case_number in seen:
            raise CaseFileError(
                source, f"item {index}", "case_number", f"{case.case_number} is also item {seen[case.case_number]}"
            )
        seen[case.case_number] = index
        cases.append(case)
    return cases


def parse_bulletin_csv(text: str, source: str = "bulletin") -> list[BulletinRow]:
    rows: list[BulletinRow] = []
    seen: dict[tuple[date, str, str], int] = {}
    for line, cells in _csv_rows(text, source, BULLETIN_COLUMNS):
        row = _validated(BulletinRow, cells, source, f"line {line}")
        key = (row.month, row.category, row.chargeability)
        if key in seen:
            raise CaseFileError(
                source, f"line {line}", "category",
                f"{row.category} ({row.chargeability}) of {row.month:%Y-%m} is also on line {seen[key]}",
            )
        seen[key] = line
        rows.append(row)
    return rows


def _csv_rows(text: str, source: str, columns: tuple[str, ...]):
    """(line number, the row's non-empty cells) for each row, after checking the header."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames
    if not header:
        raise CaseFileError(source, "line 1", "header", f"the first line names the columns: {', '.join(columns)}")
    header = [name.strip() for name in header]
    reader.fieldnames = header
    for name in header:
        if name not in columns:
            raise CaseFileError(source, "line 1", name, f"is not a column; the columns are {', '.join(columns)}")
    for name in columns:
        if name not in header:
            raise CaseFileError(source, "line 1", name, "the column is missing")
    for cells in reader:
        if None in cells:
            raise CaseFileError(source, f"line {reader.line_num}", "row", f"more cells than the {len(header)} columns")
        yield reader.line_num, {name: value.strip() for name, value in cells.items() if value and value.strip()}


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], data: Any, source: str, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        raise CaseFileError(source, where, _field(problem["loc"]), _message(problem)) from None


def _field(location: tuple) -> str:
    """("applicants", 1, "date_of_birth") reads applicants[1].date_of_birth."""
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)
    return field.removeprefix(".") or "case"


def _message(problem: dict) -> str:
    return problem["msg"].removeprefix("Value error, ")


def final_action_for(bulletin: list[BulletinRow], category: str, chargeability: str) -> BulletinRow | None:
    """A month's row for a case: its own country's, when the bulletin lists the country
    apart (as it does Mexico or the Philippines), else all chargeability areas'."""
    rows = {(row.category, row.chargeability): row for row in bulletin}
    return rows.get((category, chargeability)) or rows.get((category, ALL_CHARGEABILITY))
