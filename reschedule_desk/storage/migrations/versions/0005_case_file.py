"""The post's case file (with its Packet 4 rosters) and the Visa Bulletin as data.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

Screening is to read the post's records, not the applicant's word: the cases imported
from the post's export, and the monthly final action dates.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(length=20), nullable=False),
        sa.Column("post", sa.String(length=40), nullable=False),
        sa.Column("visa_class", sa.String(length=8), nullable=False),
        sa.Column("visa_class_on_letter", sa.String(length=8), nullable=True),
        sa.Column("priority_date", sa.Date(), nullable=True),
        sa.Column("preference_category", sa.String(length=8), nullable=False),
        sa.Column("chargeability", sa.String(length=8), nullable=False),
        sa.Column("petitioner_id", sa.String(length=64), nullable=False),
        sa.Column("original_appointment_at", sa.DateTime(), nullable=False),
        sa.Column("interviewed_on", sa.Date(), nullable=True),
        sa.Column("last_contact_on", sa.Date(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_files"),
        sa.UniqueConstraint("case_number", name="uq_case_files_case_number"),
    )
    op.create_index("ix_case_files_post", "case_files", ["post"])
    op.create_index("ix_case_files_petitioner_id", "case_files", ["petitioner_id"])
    op.create_table(
        "case_file_applicants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_file_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("relationship", sa.String(length=32), nullable=False),
        sa.Column("marital_status", sa.String(length=32), nullable=False),
        sa.Column("cspa_confirmed_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_case_file_applicants"),
        sa.UniqueConstraint("case_file_id", "position", name="uq_case_file_applicants_case_file_id_position"),
        sa.ForeignKeyConstraint(
            ["case_file_id"],
            ["case_files.id"],
            name="fk_case_file_applicants_case_file_id_case_files",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "visa_bulletin",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=8), nullable=False),
        sa.Column("chargeability", sa.String(length=8), nullable=False),
        sa.Column("final_action_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("month", "category", "chargeability", name="pk_visa_bulletin"),
    )


def downgrade() -> None:
    op.drop_table("visa_bulletin")
    op.drop_table("case_file_applicants")
    op.drop_table("case_files")
