"""Leases: `lease_until` on runs and jobs, the database-clock second until which a queued or running job's owner
holds it (renewed by the owner's heartbeat; past it any replica fails or re-queues the job).

The baseline creates its tables from today's `schema.py`, which already has the column, and SQLite's own step 6
adds it before Alembic stamps a file store; so the column is added only where it is missing (a PostgreSQL store
created at 0005 by an earlier release).
"""

import sqlalchemy as sa
from alembic import op

from service.store.schema import Seconds

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table in ("runs", "jobs"):
        if "lease_until" not in {column["name"] for column in inspector.get_columns(table)}:
            op.add_column(table, sa.Column("lease_until", Seconds))
