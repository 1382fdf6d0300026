"""The progress document: markdown <-> typed items. Pure functions."""
