"""Pure rules of CivicPulse: no database, no web framework, no I/O."""
