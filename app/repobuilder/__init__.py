"""Builds real git repositories: for the tests, the demo and the benchmarks.

``RepoBuilder`` writes commits straight into the object database through one
``git fast-import`` process per flush, so a history of thousands of commits
takes seconds. ``app.repobuilder.gitops`` lays out GitOps repositories on top.
"""

from app.repobuilder.git import Commit, RepoBuilder

__all__ = ["Commit", "RepoBuilder"]
