"""Use cases. Each owns its transaction, writes the audit record and the outbox with it."""
