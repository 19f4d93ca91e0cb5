"""`reschedule cases` and `reschedule bulletin`: the post's exports imported from the command
line, all or nothing, a bad row named by its line and field; the samples in examples/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from reschedule_desk.domain.case_file import parse_case_file
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.settings import Settings
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.tables import CaseFileRow, VisaBulletinRow

EXAMPLES = Path(__file__).parent.parent / "examples"
NAIROBI_CSV = EXAMPLES / "case-file-nairobi.csv"
PHNOM_PENH_JSON = EXAMPLES / "case-file-phnom-penh.json"
BULLETIN_CSV = EXAMPLES / "visa-bulletin.csv"


@pytest.fixture
def count(desk_settings: Settings):
    """How many rows a table holds in the desk's database."""
    engine = make_engine(desk_settings.database_url)

    def rows(table) -> int:
        with make_sessionmaker(engine)() as session:
            return session.scalar(select(func.count()).select_from(table))

    yield rows
    engine.dispose()


def nairobi_csv_with(tmp_path: Path, line: int, old: str, new: str) -> Path:
    """The Nairobi sample with `old` replaced by `new` on one line (counted from 1)."""
    lines = NAIROBI_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new)
    path = tmp_path / "export.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_the_samples_import_cleanly(reschedule, count) -> None:
    assert reschedule("cases", "import", NAIROBI_CSV, "--post", "nairobi") == (
        0, "added 7, changed 0, unchanged 0\n", ""
    )
    assert reschedule("cases", "import", PHNOM_PENH_JSON, "--post", "phnom-penh")[1] == (
        "added 4, changed 0, unchanged 0\n"
    )
    code, out, _ = reschedule("bulletin", "import", BULLETIN_CSV)
    assert (code, out) == (0, "added 30, changed 0, unchanged 0, removed 0; months 2026-10, 2026-11, 2026-12\n")
    assert (count(CaseFileRow), count(VisaBulletinRow)) == (11, 30)


@pytest.mark.parametrize(
    "example", ["nairobi-eligible", "nairobi-ineligible", "phnom-penh-eligible", "phnom-penh-ineligible"]
)
def test_each_example_request_is_for_a_case_of_its_posts_sample_case_file(example: str) -> None:
    request = RescheduleRequest.model_validate_json((EXAMPLES / f"{example}.json").read_text(encoding="utf-8"))
    sample = NAIROBI_CSV if request.post == "nairobi" else PHNOM_PENH_JSON
    cases = parse_case_file(sample.read_text(encoding="utf-8"), sample.name)
    assert request.case_number in {case.case_number for case in cases}


@pytest.mark.parametrize(
    ("line", "old", "new", "field"),
    [
        (3, "1994-01-15", "1994-13-15", "date_of_birth"),
        (5, "NRB-P-000104", "", "petitioner_id"),
        (7, "principal", "cousin", "relationship"),
        (2, "2026-10-14T08:30", "2026-10-14T08:30+03:00", "original_appointment_at"),
    ],
)
def test_a_bad_row_names_its_line_and_field_and_nothing_is_imported(
    reschedule, count, tmp_path: Path, line: int, old: str, new: str, field: str
) -> None:
    code, out, err = reschedule("cases", "import", nairobi_csv_with(tmp_path, line, old, new), "--post", "nairobi")
    assert (code, out) == (2, "")
    assert f"export.csv line {line}: {field}: " in err
    assert count(CaseFileRow) == 0


def test_a_bad_json_case_names_its_item_and_field_and_nothing_is_imported(reschedule, count, tmp_path: Path) -> None:
    cases = json.loads(PHNOM_PENH_JSON.read_text(encoding="utf-8"))
    cases[2]["applicants"][3]["marital_status"] = "engaged"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(cases), encoding="utf-8")
    code, _, err = reschedule("cases", "import", path, "--post", "phnom-penh")
    assert code == 2
    assert "export.json item 2: applicants[3].marital_status: " in err
    assert count(CaseFileRow) == 0


def test_rows_of_one_case_that_disagree_on_a_case_column_name_the_line_and_column(
    reschedule, count, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    first = NAIROBI_CSV.read_text(encoding="utf-8").splitlines()[:2]
    child = first[1].replace("2026-09-30", "2026-10-02").replace("Wanjiru Kamau,1990-06-21,principal,married",
                                                                  "Amani Kamau,2012-02-01,child,single")
    path.write_text("\n".join([*first, child]) + "\n", encoding="utf-8")
    code, _, err = reschedule("cases", "import", path, "--post", "nairobi")
    assert code == 2
    assert "export.csv line 3: last_contact_on: differs from line 2 of the same case" in err
    assert count(CaseFileRow) == 0


def test_a_case_with_no_principal_names_its_first_line(reschedule, tmp_path: Path) -> None:
    path = nairobi_csv_with(tmp_path, 4, "principal", "spouse")
    code, _, err = reschedule("cases", "import", path, "--post", "nairobi")
    assert code == 2
    assert "export.csv line 4: relationship: a case has exactly one principal applicant, not 0" in err


def test_a_missing_column_is_named_on_line_one(reschedule, tmp_path: Path) -> None:
    path = nairobi_csv_with(tmp_path, 1, ",cspa_confirmed_on", "")
    code, _, err = reschedule("cases", "import", path, "--post", "nairobi")
    assert code == 2
    assert "export.csv line 1: cspa_confirmed_on: the column is missing" in err


def test_a_reimport_that_changes_one_case_prints_its_number(reschedule, tmp_path: Path) -> None:
    reschedule("cases", "import", NAIROBI_CSV, "--post", "nairobi")
    path = nairobi_csv_with(tmp_path, 4, "2026-10-05,2026-10-05", "2026-10-05,2026-11-18")
    assert reschedule("cases", "import", path, "--post", "nairobi") == (
        0, "added 0, changed 1, unchanged 6\nchanged NRB2024100003\n", ""
    )


def test_an_unchanged_reimport_reports_every_case_unchanged(reschedule) -> None:
    reschedule("cases", "import", PHNOM_PENH_JSON, "--post", "phnom-penh")
    assert reschedule("cases", "import", PHNOM_PENH_JSON, "--post", "phnom-penh")[:2] == (
        0, "added 0, changed 0, unchanged 4\n"
    )


def test_a_case_of_another_post_is_refused_and_nothing_is_imported(reschedule, count, tmp_path: Path) -> None:
    reschedule("cases", "import", PHNOM_PENH_JSON, "--post", "phnom-penh")
    one = json.loads(PHNOM_PENH_JSON.read_text(encoding="utf-8"))[0]
    path = tmp_path / "export.json"
    path.write_text(json.dumps([{**one, "case_number": "PHP2024299999"}, one]), encoding="utf-8")
    code, out, err = reschedule("cases", "import", path, "--post", "nairobi")
    assert (code, out) == (1, "")
    assert "case PHP2024200001 is filed under phnom-penh, not nairobi" in err
    assert count(CaseFileRow) == 4


def test_an_unknown_post_is_bad_input_naming_it(reschedule, count) -> None:
    code, _, err = reschedule("cases", "import", NAIROBI_CSV, "--post", "mombasa")
    assert code == 2 and "unknown post 'mombasa'" in err
    assert count(CaseFileRow) == 0


def test_a_case_file_neither_csv_nor_json_is_bad_input(reschedule, tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"")
    code, _, err = reschedule("cases", "import", path, "--post", "nairobi")
    assert code == 2 and "a case file is a .csv or a .json export" in err


def test_showing_a_case_prints_its_file_and_roster(reschedule) -> None:
    reschedule("cases", "import", PHNOM_PENH_JSON, "--post", "phnom-penh")
    code, out, _ = reschedule("cases", "show", "php2024200003")
    assert code == 0
    lines = out.splitlines()
    assert lines[:3] == ["post\tphnom-penh", "case_number\tPHP2024200003", "visa_class\tF4"]
    assert "original_appointment_at\t2026-10-26 08:15" in lines
    assert "interviewed_on\t-" in lines
    assert "applicant\tchild\tBopha Keo\t2003-06-30\tsingle\tcspa confirmed 2026-07-14" in lines
    assert "applicant\tchild\tVichea Keo\t2006-02-11\tmarried\tno cspa confirmation" in lines


def test_showing_an_unknown_case_is_refused(reschedule) -> None:
    code, _, err = reschedule("cases", "show", "NRB2024199999")
    assert code == 1 and "no case NRB2024199999 in the case file" in err


def test_the_bulletin_shown_on_the_last_day_of_a_month_is_that_months(reschedule) -> None:
    reschedule("bulletin", "import", BULLETIN_CSV)
    code, out, _ = reschedule("bulletin", "show", "--on", "2026-11-30")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Visa Bulletin 2026-11, in force on 2026-11-30"
    assert "F2A\tALL\t2024-02-01" in lines and "DV\tALL\tcurrent" in lines


def test_no_bulletin_in_force_before_the_first_month_kept_is_refused(reschedule) -> None:
    reschedule("bulletin", "import", BULLETIN_CSV)
    code, _, err = reschedule("bulletin", "show", "--on", "2026-09-30")
    assert code == 1 and "no Visa Bulletin kept is in force on 2026-09-30" in err


def test_a_bad_bulletin_row_names_its_line_and_field_and_nothing_is_imported(
    reschedule, count, tmp_path: Path
) -> None:
    lines = BULLETIN_CSV.read_text(encoding="utf-8").splitlines()
    lines[12] = lines[12].replace("2024-02-01", "soon")
    path = tmp_path / "bulletin.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = reschedule("bulletin", "import", path)
    assert code == 2 and "bulletin.csv line 13: final_action_date: " in err
    assert count(VisaBulletinRow) == 0


