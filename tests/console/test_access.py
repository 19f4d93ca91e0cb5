"""The access rules, role by role: every page and every action, at one's own posts and
at another's."""

from __future__ import annotations

import pytest

from reschedule_desk.console.access import (
    ACTION_PERMISSIONS,
    ACTING_PERMISSIONS,
    PAGE_PERMISSIONS,
    Forbidden,
    Permission,
    Principal,
    Role,
    can,
    check_account_posts,
    require,
    roles_with,
    visible_posts,
)

OFFICER = Principal("officer.kim", Role.OFFICER, frozenset({"nairobi"}))
SUPERVISOR = Principal("supervisor.otieno", Role.SUPERVISOR, frozenset({"nairobi"}))
AUDITOR = Principal("auditor.lee", Role.AUDITOR)
ADMIN = Principal("admin.ana", Role.ADMIN)
EVERYONE = {"officer": OFFICER, "supervisor": SUPERVISOR, "auditor": AUDITOR, "admin": ADMIN}

# Who may open which page (at their own post).
PAGES = {
    "queue": {"officer", "supervisor", "auditor"},
    "request": {"officer", "supervisor", "auditor"},
    "case_file": {"officer", "supervisor", "auditor"},
    "overview": {"supervisor", "auditor"},
    "audit": {"auditor"},
    "accounts": {"admin"},
    "slots": {"officer", "supervisor", "auditor"},  # the post's appointment book
}

# Who may publish and close the interview slots of the appointment book (at their own post).
SLOT_MANAGERS = {"supervisor"}

# Who may send which Update (at their own post).
ACTIONS = {
    "approve": {"officer", "supervisor"},
    "deny": {"officer", "supervisor"},
    "request_info": {"officer", "supervisor"},
    "claim": {"officer", "supervisor"},
    "assign": {"supervisor"},
    "extend_window": {"supervisor"},
    "record_attendance": {"officer", "supervisor"},
}


@pytest.mark.parametrize("role", EVERYONE)
@pytest.mark.parametrize("page", PAGES)
def test_each_role_opens_exactly_its_pages(role: str, page: str) -> None:
    assert can(EVERYONE[role], PAGE_PERMISSIONS[page], "nairobi") == (role in PAGES[page])


@pytest.mark.parametrize("role", EVERYONE)
@pytest.mark.parametrize("action", ACTIONS)
def test_each_role_takes_exactly_its_actions_at_its_own_post(role: str, action: str) -> None:
    assert can(EVERYONE[role], ACTION_PERMISSIONS[action], "nairobi") == (role in ACTIONS[action])


@pytest.mark.parametrize("role", EVERYONE)
def test_only_a_supervisor_manages_the_appointment_book_of_their_post(role: str) -> None:
    assert can(EVERYONE[role], Permission.MANAGE_SLOTS, "nairobi") == (role in SLOT_MANAGERS)


def test_the_roles_that_manage_the_appointment_book_are_named_from_the_table() -> None:
    assert roles_with(Permission.MANAGE_SLOTS) == [Role(name) for name in SLOT_MANAGERS]


def test_a_supervisor_manages_no_other_posts_appointment_book() -> None:
    assert not can(SUPERVISOR, Permission.MANAGE_SLOTS, "phnom-penh")
    with pytest.raises(Forbidden, match="phnom-penh is not one of your posts"):
        require(SUPERVISOR, Permission.MANAGE_SLOTS, "phnom-penh")


@pytest.mark.parametrize("post", ["nairobi", "phnom-penh", None])
def test_the_auditor_never_manages_an_appointment_book(post: str | None) -> None:
    with pytest.raises(Forbidden, match="an auditor may not publish or close a post's interview slots"):
        require(AUDITOR, Permission.MANAGE_SLOTS, post)


def test_every_console_action_and_page_has_a_rule() -> None:
    assert set(ACTION_PERMISSIONS) == set(ACTIONS)
    assert set(PAGE_PERMISSIONS) == set(PAGES)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("principal", [OFFICER, SUPERVISOR], ids=["officer", "supervisor"])
def test_no_action_at_another_post(principal: Principal, action: str) -> None:
    assert not can(principal, ACTION_PERMISSIONS[action], "phnom-penh")
    with pytest.raises(Forbidden):
        require(principal, ACTION_PERMISSIONS[action], "phnom-penh")


def test_a_refusal_at_another_post_says_so() -> None:
    with pytest.raises(Forbidden, match="phnom-penh is not one of your posts"):
        require(OFFICER, Permission.DECIDE, "phnom-penh")


@pytest.mark.parametrize("principal", [OFFICER, SUPERVISOR], ids=["officer", "supervisor"])
def test_no_request_of_another_post_is_visible(principal: Principal) -> None:
    assert not can(principal, Permission.VIEW_REQUEST, "phnom-penh")
    assert visible_posts(principal, ["nairobi", "phnom-penh"]) == ["nairobi"]


@pytest.mark.parametrize("post", ["nairobi", "phnom-penh", "a-post-added-tomorrow"])
def test_the_auditor_reads_every_post(post: str) -> None:
    assert can(AUDITOR, Permission.VIEW_REQUEST, post)
    assert visible_posts(AUDITOR, ["nairobi", "phnom-penh"]) == ["nairobi", "phnom-penh"]


@pytest.mark.parametrize("permission", sorted(ACTING_PERMISSIONS))
@pytest.mark.parametrize("post", ["nairobi", "phnom-penh", None])
def test_the_auditor_can_never_act(permission: Permission, post: str | None) -> None:
    assert not can(AUDITOR, permission, post)
    with pytest.raises(Forbidden, match="an auditor may not"):
        require(AUDITOR, permission, post)


def test_the_admin_sees_no_request() -> None:
    assert visible_posts(ADMIN, ["nairobi", "phnom-penh"]) == []
    with pytest.raises(Forbidden, match="an admin may not see requests"):
        require(ADMIN, Permission.VIEW_REQUEST, "nairobi")


def test_acting_permissions_are_exactly_the_actions() -> None:
    assert ACTING_PERMISSIONS == set(ACTION_PERMISSIONS.values())


@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR])
def test_officers_and_supervisors_need_a_post(role: Role) -> None:
    with pytest.raises(ValueError, match="needs at least one post"):
        check_account_posts(role, [])
    check_account_posts(role, ["nairobi"])


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN])
def test_auditors_and_admins_have_no_posts(role: Role) -> None:
    with pytest.raises(ValueError, match="has no posts"):
        check_account_posts(role, ["nairobi"])
    check_account_posts(role, [])
