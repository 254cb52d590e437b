"""Alembic migrations of the ketaclinic database, configured by ``storage/migrate.py``."""
