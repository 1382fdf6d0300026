"""The store: SQLModel tables, sessions, and the few functions that write."""
