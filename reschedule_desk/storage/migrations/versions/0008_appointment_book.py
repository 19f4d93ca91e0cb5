"""The post's appointment book: interview slots and the requests' bookings of them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

Supervisors publish interview slots (a day and a time of the post, for so many
applicants); an approved request books seats in one. Each slot counts its booked seats,
so that one conditional UPDATE books and the database never oversells it; a CHECK
constraint refuses a count past capacity, and a partial unique index lets a request hold
one booking at a time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interview_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("time", sa.Time(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("seats_booked", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_interview_slots"),
        sa.UniqueConstraint("post", "day", "time", name="uq_interview_slots_post_day_time"),
        sa.CheckConstraint("capacity > 0", name="ck_interview_slots_capacity_positive"),
        sa.CheckConstraint(
            "seats_booked >= 0 AND seats_booked <= capacity", name="ck_interview_slots_seats_within_capacity"
        ),
    )
    op.create_table(
        "slot_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("case_number", sa.String(length=20), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_slot_bookings"),
        sa.CheckConstraint("seats > 0", name="ck_slot_bookings_seats_positive"),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["interview_slots.id"], name="fk_slot_bookings_slot_id_interview_slots"
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reschedule_requests.request_id"],
            name="fk_slot_bookings_request_id_reschedule_requests",
        ),
    )
    op.create_index("ix_slot_bookings_slot_id", "slot_bookings", ["slot_id"])
    op.create_index("ix_slot_bookings_request_id", "slot_bookings", ["request_id"])
    op.create_index(
        "uq_slot_bookings_request_id_held",
        "slot_bookings",
        ["request_id"],
        unique=True,
        sqlite_where=sa.text("cancelled_at IS NULL"),
        postgresql_where=sa.text("cancelled_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("slot_bookings")
    op.drop_table("interview_slots")
