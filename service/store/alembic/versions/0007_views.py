"""Saved views: the `views` table (`service.views`), immutable dashboard views under ids derived from their content.

The baseline creates its tables from today's `schema.py`, which already has this one, and SQLite's own step 7
creates it before Alembic stamps a file store; so the table (and its index) is created only where it is missing: a
store at 0006 written by the previous release.
"""

import sqlalchemy as sa
from alembic import op

from service.store.schema import views

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "views" not in sa.inspect(op.get_bind()).get_table_names():
        views.create(op.get_bind())
