"""Alembic revisions, one module each (a package, so setuptools ships them)."""
