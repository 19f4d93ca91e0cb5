"""Which action the request's state allows, and what a refusal says."""

from __future__ import annotations

import pytest

from reschedule_desk.domain.lifecycle import ActionNotAllowed, RequestState, next_state


def test_the_booking_window_opens_only_after_the_approval() -> None:
    assert next_state(RequestState.APPROVED, "open_booking") is RequestState.AWAITING_BOOKING
    with pytest.raises(ActionNotAllowed, match="is PENDING_REVIEW, not APPROVED"):
        next_state(RequestState.PENDING_REVIEW, "open_booking")


def test_a_booking_holds_an_appointment_a_cancellation_gives_it_back() -> None:
    assert next_state(RequestState.AWAITING_BOOKING, "book") is RequestState.BOOKED
    assert next_state(RequestState.BOOKED, "reschedule_booking") is RequestState.BOOKED
    assert next_state(RequestState.BOOKED, "cancel_booking") is RequestState.AWAITING_BOOKING


def test_the_day_ends_a_booked_request_as_attended_or_missed() -> None:
    assert next_state(RequestState.BOOKED, "record_attended") is RequestState.ATTENDED
    assert next_state(RequestState.BOOKED, "record_missed") is RequestState.MISSED


def test_a_booked_request_is_past_the_review_so_a_decision_is_already_too_late() -> None:
    with pytest.raises(ActionNotAllowed, match="cannot approve: the request is already BOOKED"):
        next_state(RequestState.BOOKED, "approve")


def test_nothing_is_booked_before_the_approval_email() -> None:
    with pytest.raises(ActionNotAllowed, match="cannot book: the request is APPROVED, not AWAITING_BOOKING"):
        next_state(RequestState.APPROVED, "book")


@pytest.mark.parametrize("final", [RequestState.ATTENDED, RequestState.MISSED, RequestState.EXPIRED])
def test_after_the_last_state_every_action_is_already_too_late(final: RequestState) -> None:
    with pytest.raises(ActionNotAllowed, match=f"the request is already {final.value}"):
        next_state(final, "cancel_booking")


def test_only_the_review_states_count_as_open_for_the_one_appointment_per_petitioner_rule() -> None:
    # An approved petitioner's other case may be screened: its booking joins this one's.
    assert not any(state.is_open for state in (RequestState.AWAITING_BOOKING, RequestState.BOOKED))
