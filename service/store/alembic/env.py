"""Alembic's environment: the connection is the caller's (`config.attributes["connection"]`), inside its
transaction, so a migration and the lock that serialises migrating replicas commit together."""

from alembic import context

from service.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
context.run_migrations()
