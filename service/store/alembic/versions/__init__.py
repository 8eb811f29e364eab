"""The store's schema revisions after SQLite's `PRAGMA user_version` 5, one file each, for every backend."""
