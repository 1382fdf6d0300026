"""The git scanner: a repository and a ref in, dataclasses out. Pure: no DB, no web."""
