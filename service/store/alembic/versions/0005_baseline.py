"""The baseline: the schema of SQLite's `PRAGMA user_version` 5 (runs, trace_parts, jobs, job_arrays, sessions).

A new store gets every table from `service.store.schema`; a SQLite store that the steps of `migrations.py` brought
to version 5 already has them and is only stamped at this revision.
"""

from alembic import op

from service.store.schema import metadata

revision = "0005"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind(), checkfirst=True)
