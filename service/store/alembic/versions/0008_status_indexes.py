"""Indexes by status on runs and jobs: the claimers' "oldest queued job" and the counts by status read the queued
rows only; without them every claim (20 a second per replica, in a write transaction) scanned every stored run.

The baseline creates its tables from today's `schema.py`, which already has the indexes, and SQLite's own step 8
creates them before Alembic stamps a file store; so each is created only where it is missing.
"""

import sqlalchemy as sa
from alembic import op

from service.store.schema import jobs, runs

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table in (runs, jobs):
        present = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                index.create(op.get_bind())
