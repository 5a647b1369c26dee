"""Open311 GeoReport v2: the server's read models and write paths, and a pulling client.

Open311 is one more channel: requests posted here become voices through
``services.voices.start_submission`` and updates go through the same case actions staff
use, so nothing here writes to the database on its own.
"""
