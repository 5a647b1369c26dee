"""The web layer: thin FastAPI routes over the services."""
