"""Building the template's schema: SQL files and Alembic migrations."""
