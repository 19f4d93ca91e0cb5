"""Who may do what in the console: roles, permissions and post scopes.

Pure rules, no web or database code: the routes ask them before showing a page or
sending an Update, and the unit tests check every role against every page and action.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from reschedule_desk.domain.roles import Role


class Permission(StrEnum):
    VIEW_QUEUE = "view_queue"
    VIEW_REQUEST = "view_request"
    VIEW_OVERVIEW = "view_overview"
    VIEW_AUDIT = "view_audit"  # the audit pages (another issue builds them)
    DECIDE = "decide"  # approve, deny, request more information
    CLAIM = "claim"
    ASSIGN = "assign"
    EXTEND_WINDOW = "extend_window"
    MANAGE_ACCOUNTS = "manage_accounts"
    MANAGE_SLOTS = "manage_slots"  # publish and close the interview slots of the post's appointment book
    RECORD_ATTENDANCE = "record_attendance"  # whether the applicants came to their booked interview


_OFFICER = frozenset(
    {Permission.VIEW_QUEUE, Permission.VIEW_REQUEST, Permission.DECIDE, Permission.CLAIM, Permission.RECORD_ATTENDANCE}
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OFFICER: _OFFICER,
    Role.SUPERVISOR: _OFFICER | {
        Permission.VIEW_OVERVIEW, Permission.ASSIGN, Permission.EXTEND_WINDOW, Permission.MANAGE_SLOTS,
    },
    Role.AUDITOR: frozenset(
        {Permission.VIEW_QUEUE, Permission.VIEW_REQUEST, Permission.VIEW_OVERVIEW, Permission.VIEW_AUDIT}
    ),
    Role.ADMIN: frozenset({Permission.MANAGE_ACCOUNTS}),
}

# Roles whose rights stop at the posts of their account; the auditor reads every post.
POST_BOUND_ROLES = frozenset({Role.OFFICER, Role.SUPERVISOR})

# Permissions that change a request: an auditor holds none of them, whatever changes.
ACTING_PERMISSIONS = frozenset(
    {Permission.DECIDE, Permission.CLAIM, Permission.ASSIGN, Permission.EXTEND_WINDOW, Permission.RECORD_ATTENDANCE}
)

# The workflow Update each console action sends, and the permission it needs.
ACTION_PERMISSIONS: dict[str, Permission] = {
    "approve": Permission.DECIDE,
    "deny": Permission.DECIDE,
    "request_info": Permission.DECIDE,
    "claim": Permission.CLAIM,
    "assign": Permission.ASSIGN,
    "extend_window": Permission.EXTEND_WINDOW,
    "record_attendance": Permission.RECORD_ATTENDANCE,
}

# The console's pages and the permission each needs.
PAGE_PERMISSIONS: dict[str, Permission] = {
    "queue": Permission.VIEW_QUEUE,
    "request": Permission.VIEW_REQUEST,
    "case_file": Permission.VIEW_REQUEST,  # recording on it is deciding: Permission.DECIDE
    "overview": Permission.VIEW_OVERVIEW,
    "audit": Permission.VIEW_AUDIT,
    "accounts": Permission.MANAGE_ACCOUNTS,
    "slots": Permission.VIEW_REQUEST,  # the post's appointment book; publishing and closing: Permission.MANAGE_SLOTS
}


class Forbidden(Exception):
    """The signed-in account may not do this; the message says why, in plain words."""


@dataclass(frozen=True)
class Principal:
    """The signed-in account as the rules see it. `name` is the officer id every
    decision carries."""

    name: str
    role: Role
    posts: frozenset[str] = frozenset()


def can(principal: Principal, permission: Permission, post: str | None = None) -> bool:
    """Whether `principal` holds `permission`, at `post` when the permission is about a
    request of that post."""
    if permission not in ROLE_PERMISSIONS[principal.role]:
        return False
    return post is None or principal.role not in POST_BOUND_ROLES or post in principal.posts


def require(principal: Principal, permission: Permission, post: str | None = None) -> None:
    """Raise Forbidden, saying why, unless `can`."""
    if permission not in ROLE_PERMISSIONS[principal.role]:
        raise Forbidden(f"{_a(principal.role)} may not {_wording(permission)}")
    if not can(principal, permission, post):
        raise Forbidden(f"{post} is not one of your posts")


def visible_posts(principal: Principal, all_posts: Iterable[str]) -> list[str]:
    """The posts whose requests `principal` sees, in the configuration's order."""
    if Permission.VIEW_REQUEST not in ROLE_PERMISSIONS[principal.role]:
        return []
    return [post for post in all_posts if can(principal, Permission.VIEW_REQUEST, post)]


def roles_with(permission: Permission) -> list[Role]:
    """The roles that hold `permission`, in the table's order: for refusals that name them."""
    return [role for role, held in ROLE_PERMISSIONS.items() if permission in held]


def can_work(principal: Principal, post: str) -> bool:
    """Whether a request of `post` may be assigned to `principal`."""
    return can(principal, Permission.DECIDE, post)


def check_account_posts(role: Role, posts: Collection[str]) -> None:
    """Officers and supervisors work at one or more posts; auditors and admins at none."""
    if role in POST_BOUND_ROLES and not posts:
        raise ValueError(f"{_a(role)} needs at least one post (--post)")
    if role not in POST_BOUND_ROLES and posts:
        raise ValueError(f"{_a(role)} has no posts: an auditor reads every post, an admin none")


def _a(role: Role) -> str:
    return f"{'an' if role.value[0] in 'aeiou' else 'a'} {role.value}"


def _wording(permission: Permission) -> str:
    return {
        Permission.VIEW_QUEUE: "see the queue",
        Permission.VIEW_REQUEST: "see requests",
        Permission.VIEW_OVERVIEW: "see the supervisor overview",
        Permission.VIEW_AUDIT: "see the audit pages",
        Permission.DECIDE: "decide requests",
        Permission.CLAIM: "claim requests",
        Permission.ASSIGN: "reassign requests",
        Permission.EXTEND_WINDOW: "extend a window",
        Permission.MANAGE_ACCOUNTS: "manage accounts",
        Permission.MANAGE_SLOTS: "publish or close a post's interview slots",
        Permission.RECORD_ATTENDANCE: "record attendance at interviews",
    }[permission]
