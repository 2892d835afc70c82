"""customers.timezone: the customer's own time zone, where the platform tells it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# plain ALTER TABLE, not a batch: SQLite adds and drops a column in place (3.35+), while a
# batch copies the table, which the foreign keys to customers refuse on the way down


def upgrade() -> None:
    op.add_column(
        "customers",
        sa.Column("timezone", sa.String(length=64), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("customers", "timezone")
