"""What the long tests injected and counted, printed together at the end of the run
(the "report" section), for the issue's note: the fault tests and the fuzz add lines."""

from __future__ import annotations

_LINES: list[str] = []


def report(line: str) -> None:
    _LINES.append(line)
    print(f"REPORT {line}")


def report_lines() -> list[str]:
    return list(_LINES)
