"""The desk's first schema: requests, applicants, screening outcomes, audit events, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Written by hand to match tables.py; plain SQLAlchemy types only, so this file never
changes when the application's code does. Enum columns are VARCHAR(32) holding the enum's
values (tables._enum); instants are TIMESTAMP WITH TIME ZONE (tables.UtcDateTime).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reschedule_requests",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("case_number", sa.String(length=20), nullable=False),
        sa.Column("post", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason_category", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("original_appointment_at", sa.DateTime(), nullable=True),
        sa.Column("visa_class", sa.String(length=8), nullable=False),
        sa.Column("priority_date", sa.Date(), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("petitioner_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approval_email_release_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request_document", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_reschedule_requests"),
    )
    op.create_index("ix_reschedule_requests_case_number", "reschedule_requests", ["case_number"])
    op.create_index("ix_reschedule_requests_post", "reschedule_requests", ["post"])
    op.create_index("ix_reschedule_requests_status", "reschedule_requests", ["status"])
    op.create_index(
        "ix_reschedule_requests_petitioner_fingerprint", "reschedule_requests", ["petitioner_fingerprint"]
    )

    op.create_table(
        "applicants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("relationship", sa.String(length=32), nullable=False),
        sa.Column("marital_status", sa.String(length=32), nullable=False),
        sa.Column("on_appointment_letter", sa.Boolean(), nullable=False),
        sa.Column("cspa_confirmed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_applicants"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reschedule_requests.request_id"],
            name="fk_applicants_request_id_reschedule_requests",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("request_id", "position", name="uq_applicants_request_id_position"),
    )

    op.create_table(
        "screening_outcomes",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "position", name="pk_screening_outcomes"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reschedule_requests.request_id"],
            name="fk_screening_outcomes_request_id_reschedule_requests",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        # No cascade: an audit trail outlives any attempt to delete its request.
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reschedule_requests.request_id"],
            name="fk_audit_events_request_id_reschedule_requests",
        ),
        sa.UniqueConstraint("request_id", "step", name="uq_audit_events_request_id_step"),
    )

    op.create_table(
        "outbox_messages",
        sa.Column("message_key", sa.String(length=400), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("message_key", name="pk_outbox_messages"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reschedule_requests.request_id"],
            name="fk_outbox_messages_request_id_reschedule_requests",
        ),
        sa.UniqueConstraint("request_id", "step", name="uq_outbox_messages_request_id_step"),
    )
    op.create_index("ix_outbox_messages_status", "outbox_messages", ["status"])


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_status", table_name="outbox_messages")
    op.drop_table("outbox_messages")
    op.drop_table("audit_events")
    op.drop_table("screening_outcomes")
    op.drop_table("applicants")
    op.drop_index("ix_reschedule_requests_petitioner_fingerprint", table_name="reschedule_requests")
    op.drop_index("ix_reschedule_requests_status", table_name="reschedule_requests")
    op.drop_index("ix_reschedule_requests_post", table_name="reschedule_requests")
    op.drop_index("ix_reschedule_requests_case_number", table_name="reschedule_requests")
    op.drop_table("reschedule_requests")
