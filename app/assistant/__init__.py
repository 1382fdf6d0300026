"""The migration assistant: draft a chainsaw test, check what a migration dropped, say what to migrate next."""
