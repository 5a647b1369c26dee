"""Infrastructure the use cases stand on: the context, group commit, caches, model store."""
