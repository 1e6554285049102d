"""Alembic migrations of the Sigma Lab store (run them with ``sigma_lab.store.upgrade``)."""
