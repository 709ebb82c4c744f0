"""SQLAlchemy 2 async persistence (MySQL/MariaDB via asyncmy, SQLite via aiosqlite)."""
