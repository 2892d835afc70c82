"""care over time: response-target breaches, desk-wide reminders, digest indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DIGEST_INDEXES = ("created_at", "closed_at", "first_response_at", "sla_breached_at")


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_breached_at", UTCDateTime(), nullable=True))
        for column in _DIGEST_INDEXES:
            batch_op.create_index(batch_op.f(f"ix_tickets_{column}"), [column], unique=False)
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.alter_column("ticket_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("key", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=False, server_default=""))
        batch_op.create_unique_constraint(batch_op.f("uq_reminders_key"), ["key"])


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_reminders_key"), type_="unique")
        batch_op.drop_column("last_error")
        batch_op.drop_column("key")
        batch_op.alter_column("ticket_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for column in reversed(_DIGEST_INDEXES):
            batch_op.drop_index(batch_op.f(f"ix_tickets_{column}"))
        batch_op.drop_column("sla_breached_at")
