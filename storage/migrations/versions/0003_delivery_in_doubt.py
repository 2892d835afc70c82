"""delivery in doubt, waiting warnings, channel cursors for catching up after downtime

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt_started_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("warned_at", UTCDateTime(), nullable=True))
    op.create_table(
        "channel_cursors",
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("last_message_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "channel", name=op.f("pk_channel_cursors")),
    )


def downgrade() -> None:
    op.drop_table("channel_cursors")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("warned_at")
        batch_op.drop_column("attempt_started_at")
