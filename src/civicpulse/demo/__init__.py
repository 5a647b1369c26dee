"""The demo city: a catalogue, staff and a few hundred voices with a believable history.

Its data is configuration (``catalogue.yaml``, ``sample_voices.csv`` and the mapping tables
in ``sources``), not product code: the product never looks at it, and everything it writes
goes through the same services as real use. ``seed.seed_demo`` is the entry point.
"""
