"""Who on a request is who on the appointment letter (Packet 4): names are forgiving, dates
of birth are exact, and each person on the letter is one person."""

from __future__ import annotations

from datetime import date

import pytest

from reschedule_desk.domain.case_file import RosterApplicant
from reschedule_desk.domain.request import LetterApplicant
from reschedule_desk.domain.roster import match_roster, name_key


def on_letter(name: str, born: str, relationship: str = "child") -> RosterApplicant:
    return RosterApplicant(
        full_name=name, date_of_birth=date.fromisoformat(born), relationship=relationship, marital_status="single"
    )


def as_written(name: str, born: str) -> LetterApplicant:
    return LetterApplicant(full_name=name, date_of_birth=date.fromisoformat(born))


# name_key


@pytest.mark.parametrize(
    "written",
    [
        "Wanjiru Kamau",
        "WANJIRU KAMAU",  # capitals
        "wanjiru kamau",
        "  Wanjiru    Kamau  ",  # spacing
        "Wanjiru\u00a0Kamau",  # a no-break space
        "Kamau Wanjiru",  # family name first
        "KAMAU  Wanjíru",  # and an accent
    ],
)
def test_a_name_written_differently_has_the_same_key(written):
    assert name_key(written) == name_key("Wanjiru Kamau") == ("kamau", "wanjiru")


@pytest.mark.parametrize(
    ("written", "on_the_letter"),
    [
        ("Jose Ochieng", "José Ochieng"),  # the accent left off
        ("Zoe Nunez", "Zoë Núñez"),
        ("Nguyen Thi Minh Khai", "Nguyễn Thị Minh Khai"),  # two accents on one letter
        ("Jean Pierre Otieno", "Jean-Pierre Otieno"),  # a hyphen or not
        ("Jean‐Pierre Otieno", "Jean-Pierre Otieno"),  # a typographic hyphen
        ("O Brien", "O'Brien"),
        ("O’Brien", "O'Brien"),
    ],
)
def test_latin_accents_hyphens_and_apostrophes_do_not_matter(written, on_the_letter):
    assert name_key(written) == name_key(on_the_letter)


def test_a_composed_and_a_decomposed_accent_are_the_same():
    assert name_key("Wanj\u00edru") == name_key("Wanji\u0301ru") == ("wanjiru",)


def test_different_names_have_different_keys():
    assert name_key("Wanjiru Kamau") != name_key("Wanjiru Kamau Njeri")
    assert name_key("Wanjiru Kamau") != name_key("Wanjiku Kamau")


def test_khmer_vowel_signs_are_part_of_the_name():
    # Chan (ចាន់) and Chin (ចិន) differ only in combining vowel signs: they stay two names.
    assert name_key("សុខ ចាន់") != name_key("សុខ ចិន")
    assert name_key("សុខ ចាន់") == ("ចាន់", "សុខ")


def test_a_khmer_name_written_in_another_order_or_spacing_has_the_same_key():
    assert name_key("ចាន់  សុខ") == name_key("សុខ ចាន់")


def test_a_khmer_zero_width_space_separates_the_parts_of_a_name():
    # Khmer text separates words with U+200B, not with a space.
    assert name_key("សុខ\u200bចាន់") == name_key("សុខ ចាន់")


# match_roster


def test_each_applicant_gets_their_entry_on_the_letter_in_the_requests_order():
    principal = on_letter("Wanjiru Kamau", "1990-06-21", "principal")
    child = on_letter("Baraka Kamau", "2015-06-01")
    matches = match_roster([as_written("baraka kamau", "2015-06-01"), as_written("Kamau Wanjiru", "1990-06-21")],
                           [principal, child])
    assert matches == [child, principal]


def test_an_applicant_not_on_the_letter_matches_nothing():
    roster = [on_letter("Wanjiru Kamau", "1990-06-21", "principal")]
    assert match_roster([as_written("Neema Kamau", "2019-02-14")], roster) == [None]


def test_the_date_of_birth_must_be_exact():
    roster = [on_letter("Wanjiru Kamau", "1990-06-21", "principal")]
    assert match_roster([as_written("Wanjiru Kamau", "1990-06-12")], roster) == [None]
    assert match_roster([as_written("Wanjiru Kamau", "1990-06-21")], roster) == roster


def test_two_applicants_never_match_one_entry_of_the_letter():
    entry = on_letter("Wanjiru Kamau", "1990-06-21", "principal")
    assert match_roster(
        [as_written("Wanjiru Kamau", "1990-06-21"), as_written("KAMAU WANJIRU", "1990-06-21")], [entry]
    ) == [entry, None]


def test_twins_of_one_name_on_the_letter_are_two_entries():
    first, second = on_letter("Amani Kamau", "2015-06-01"), on_letter("Amani Kamau", "2015-06-01")
    assert match_roster([as_written("Amani Kamau", "2015-06-01")] * 2, [first, second]) == [first, second]


def test_two_khmer_names_that_differ_in_a_vowel_sign_are_two_people():
    roster = [on_letter("សុខ ចាន់", "2012-04-13")]
    assert match_roster([as_written("សុខ ចិន", "2012-04-13")], roster) == [None]
    assert match_roster([as_written("ចាន់ សុខ", "2012-04-13")], roster) == roster
