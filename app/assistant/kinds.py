"""Which apiVersion a kind has, learned from the manifests a module deploys.

A success condition names ``cluster.postgresql.cnpg.io/db`` or
``helmrelease/traefik``; an assertion needs ``apiVersion`` and ``kind``. They
come from the module's own manifests (and the suite's Flux manifests), never
from a guess. Kubernetes' own workload kinds are the one exception: each is
served at one version by every cluster, so Helm-made Deployments (which no
manifest in the repository spells out) can still be asserted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from app.assistant.checks import kind_key

BUILTIN = {
    kind_key(kind): (api, kind)
    for api, kinds in {
        "v1": ("Pod", "Service", "ConfigMap", "Secret", "Namespace", "PersistentVolumeClaim", "ServiceAccount"),
        "apps/v1": ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"),
        "batch/v1": ("Job", "CronJob"),
    }.items()
    for kind in kinds
}


@dataclass(frozen=True)
class Kind:
    api_version: str
    kind: str  # as manifests spell it: "HelmRelease"


@dataclass
class Kinds:
    """kind key -> how often each (apiVersion, Kind) appears in the manifests read."""

    seen: dict[str, Counter] = field(default_factory=dict)

    def learn(self, docs: tuple) -> None:
        for doc in docs:
            if _resource(doc):
                self.seen.setdefault(kind_key(doc["kind"]), Counter())[(doc["apiVersion"], doc["kind"])] += 1

    def find(self, kind: str, group: str | None) -> Kind | None:
        """The apiVersion of ``kind`` (in ``group`` when given) most used in the manifests read."""
        found = self.seen.get(kind_key(kind), Counter())
        wanted = [(n, pair) for pair, n in found.items() if group is None or _group(pair[0]) == group]
        if wanted:
            _count, (api, spelled) = max(wanted)
            return Kind(api, spelled)
        builtin = BUILTIN.get(kind_key(kind))
        if builtin and (group is None or _group(builtin[0]) == group):
            return Kind(*builtin)
        return None


def _resource(doc: object) -> bool:
    """A Kubernetes object; kustomize's build files (``kustomization.yaml``) are not."""
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str) or not isinstance(doc.get("apiVersion"), str):
        return False
    return not doc["apiVersion"].startswith("kustomize.config.k8s.io/")


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]
