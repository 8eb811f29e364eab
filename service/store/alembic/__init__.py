"""Alembic's environment and revisions for the store, run by `service.store.migrate.upgrade`, never by hand."""
