"""Alembic migrations, shipped inside the package so an installed dondoc can upgrade itself."""
