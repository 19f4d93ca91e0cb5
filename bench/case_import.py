"""Item 7, in-process: a post's case-file export of 10,000 cases imported (CSV text to the
committed upsert), and the cost of checking one API token as the API does (one
transaction that finds the token, compares its hash and may note when it was last used)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from reschedule_desk.console.access import Role
from reschedule_desk.domain.case_file import APPLICANT_COLUMNS, CASE_COLUMNS, parse_case_file
from reschedule_desk.storage import accounts, case_file, tokens
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate

TOKEN_CHECKS = 500


def case_file_csv(cases: int) -> str:
    """An export of `cases` cases, a principal and a child each."""
    lines = [",".join(CASE_COLUMNS + APPLICANT_COLUMNS)]
    for number in range(cases):
        case = [
            f"NRB{2024_000000 + number:010d}", "F2A", "", "2021-03-02", "F2A", "KE", f"NRB-P-{number:06d}",
            "2026-11-10T08:30", "", "2026-10-01",
        ]
        lines.append(",".join(case + [f"Applicant {number} Principal", "1988-04-12", "principal", "married", ""]))
        lines.append(",".join(case + [f"Applicant {number} Child", "2012-09-30", "child", "single", ""]))
    return "\n".join(lines) + "\n"


def import_seconds(database_url: str, cases: int) -> float:
    """Seconds from the export's text to the committed import, into an empty case file."""
    migrate(database_url)
    engine = make_engine(database_url)
    text = case_file_csv(cases)
    try:
        started = time.perf_counter()
        parsed = parse_case_file(text, "cases.csv")
        with make_sessionmaker(engine).begin() as session:
            report = case_file.import_cases(session, parsed, "nairobi", datetime.now(timezone.utc))
        elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    assert len(report.added) == cases
    return elapsed


def token_check_ms(database_url: str) -> float:
    """Milliseconds per check of a valid staff token, each in its own transaction."""
    migrate(database_url)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    now = datetime.now(timezone.utc)
    try:
        with sessions.begin() as session:
            accounts.add_account(session, "officer.bench", Role.OFFICER, ["nairobi"], "a bench password", now)
            token, _ = tokens.issue_staff_token(session, "officer.bench", now)
        started = time.perf_counter()
        for check in range(TOKEN_CHECKS):
            with sessions.begin() as session:
                # A minute apart: every check also writes "last used", the dearer case.
                assert tokens.token_holder(session, token, now + timedelta(minutes=check)) is not None
        return (time.perf_counter() - started) * 1000 / TOKEN_CHECKS
    finally:
        engine.dispose()


if __name__ == "__main__":  # python -m bench.case_import: a quick look on SQLite
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        print(f"import of 1,000 cases: {import_seconds(f'sqlite:///{folder}/cases.sqlite3', 1000):.2f} s")
        print(f"token check: {token_check_ms(f'sqlite:///{folder}/tokens.sqlite3'):.2f} ms")
