"""Who on a request is who on the appointment letter (Packet 4).

Pure. People write their names differently without meaning anything by it: in capitals,
with an accent left off, with the family name first, with a hyphen or without. They do
not get their date of birth wrong innocently, so that must be exact.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Protocol

from reschedule_desk.domain.case_file import RosterApplicant

# The combining diacritical marks (U+0300-U+036F): Latin script's accents, and a few of
# other scripts' (Cyrillic й becomes и; the exact date of birth still tells people apart).
# Not every combining mark: in Khmer the vowel signs are combining marks, and taking them
# off would make different names one.
_ACCENTS = re.compile("[\u0300-\u036f]")
# What separates the parts of a name besides spaces: "Jean-Pierre", "O'Neill", "Jr.", and
# the zero-width space that Khmer writes between words.
_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u200b'\u2019.,]+")


class NamedPerson(Protocol):
    full_name: str
    date_of_birth: date


def name_key(full_name: str) -> tuple[str, ...]:
    """The parts of a name, without case, accents or order: "KAMAU  Wanjiru" and
    "Wanjíru Kamau" have the same key."""
    decomposed = _ACCENTS.sub("", unicodedata.normalize("NFD", full_name))
    parts = _SEPARATORS.split(unicodedata.normalize("NFC", decomposed).casefold())
    return tuple(sorted(part for part in parts if part))


def match_roster(
    applicants: Sequence[NamedPerson], roster: Sequence[RosterApplicant]
) -> list[RosterApplicant | None]:
    """For each applicant, in order, the roster entry that is them, or None. Each entry of
    the roster is one person: two applicants never match the same one."""
    unclaimed = list(roster)
    matches: list[RosterApplicant | None] = []
    for applicant in applicants:
        key = name_key(applicant.full_name)
        found = next(
            (
                entry
                for entry in unclaimed
                if entry.date_of_birth == applicant.date_of_birth and name_key(entry.full_name) == key
            ),
            None,
        )
        if found is not None:
            unclaimed.remove(found)
        matches.append(found)
    return matches
