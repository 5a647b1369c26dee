"""Background work: delivering the outbox and watching deadlines."""
