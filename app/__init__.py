"""Sawmill: tracks a GitOps repository's move to kyverno/chainsaw tests."""

__version__ = "0.1.0"
