"""Who works at the desk: the roles accounts hold (see the brief's "Who uses it")."""

from enum import StrEnum


class Role(StrEnum):
    OFFICER = "officer"  # works requests of their posts
    SUPERVISOR = "supervisor"  # an officer's rights at their posts, plus overview, reassign, extend
    AUDITOR = "auditor"  # reads everything at every post, never acts
    ADMIN = "admin"  # manages accounts; sees no applicant's data
