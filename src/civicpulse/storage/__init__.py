"""Persistence: tables, the engine factory, migrations and read queries."""
