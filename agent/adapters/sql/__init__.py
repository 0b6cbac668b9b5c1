"""SQL storage (SQLAlchemy Core over PyMySQL, or SQLite as the embedded default)."""
