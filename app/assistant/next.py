"""What to migrate next: the Flux ``dependsOn`` graph of the modules, read from a commit, and the order.

A legacy module is ready when every module its Flux Kustomizations depend on
is migrated (an untested one or a component has nothing to wait for). The
halves of a core/extra pair go together, as the team migrates them; smaller
suites come first; a module an open blocker names is marked, and goes after
the unblocked ones. Modules that depend on each other (a cycle) are named as
such: none can be ready before the others, they go together; a ``dependsOn``
naming no Kustomization at all is named too (Flux will not reconcile it).
Pure: a commit's files and a ParseCache in, dataclasses out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from app.assistant.checks import Files
from app.scanner.chainsaw import flux_target
from app.scanner.parse import ParseCache
from app.scanner.source import BlobRef

FLUX = b"kustomize.toolkit.fluxcd.io"
WAITS = ("legacy", "in_progress")  # a dependency in these states is not migrated yet


@dataclass(frozen=True)
class Candidate:
    """A module as the last scan saw it, with its legacy suites and the checks each makes
    (success conditions, kuttl steps): a pair's halves share a suite, counted once."""

    path: str
    name: str
    status: str
    group: str = ""
    pair: str | None = None
    suites: tuple[tuple[str, int], ...] = ()


@dataclass
class NextItem:
    title: str  # "networking-core/extra" for a pair taken together
    modules: list[str]
    size: int
    reason: str
    depends_on: list[str] = field(default_factory=list)
    waiting_on: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # titles of the open blockers naming it
    cycle: list[str] = field(default_factory=list)  # the modules it waits for that wait for it, in turn
    missing: list[str] = field(default_factory=list)  # the Kustomizations it dependsOn that do not exist

    @property
    def href(self) -> str:
        return f"/modules/{self.modules[0]}"


@dataclass
class NextPlan:
    ready: list[NextItem] = field(default_factory=list)
    waiting: list[NextItem] = field(default_factory=list)
    graph_read: bool = True  # False: the repository could not be read, dependencies unknown

    def to_dict(self) -> dict:
        ready, waiting = [asdict(i) for i in self.ready], [asdict(i) for i in self.waiting]
        return {"graph_read": self.graph_read, "next": ready, "waiting": waiting}


# -- the graph ---------------------------------------------------------------


class DependencyGraph(dict[str, set[str]]):
    """Module path -> the modules it depends on; ``missing``: module path -> the names its
    Kustomizations ``dependsOn`` that no Kustomization has."""

    def __init__(self, edges: Mapping[str, set[str]] | None = None, missing: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(edges or {})
        self.missing = dict(missing or {})


def dependency_graph(
    files: Mapping[str, BlobRef], blobs: ParseCache, modules: list[str], skip: tuple[str, ...] = ()
) -> DependencyGraph:
    """Module path -> the modules its Flux Kustomizations ``dependsOn``, from every YAML file
    outside the ``skip`` folders (the test roots: their manifests deploy modules to test them)."""
    view = Files(files, blobs)
    kustomizations: dict[tuple[str, str], tuple[str, list]] = {}  # (namespace, name) -> (module, dependsOn)
    names: set[str] = set()  # every Flux Kustomization's, a module's or not
    for path, ref in files.items():
        if not path.endswith((".yaml", ".yml")) or any(path.startswith(f"{s}/") for s in skip):
            continue
        raw = blobs.raw(ref)
        if not isinstance(raw, bytes) or FLUX not in raw:
            continue  # a cheap byte test spares parsing every manifest
        for doc in view.docs(path):
            _note(doc, modules, kustomizations, names)
    by_name: dict[str, list[str]] = {}
    for (_ns, name), (module, _deps) in kustomizations.items():
        by_name.setdefault(name, []).append(module)
    graph = DependencyGraph({m: set() for m in modules})
    for (namespace, _name), (module, depends) in kustomizations.items():
        for dep in depends:
            target = _target(dep, namespace, kustomizations, by_name)
            if target is not None and target != module:
                graph[module].add(target)
            elif target is None and isinstance(dep, dict) and dep.get("name") and str(dep["name"]) not in names:
                graph.missing.setdefault(module, []).append(str(dep["name"]))
    return graph


def _note(doc: object, modules: list[str], out: dict, names: set[str]) -> None:
    if _is_kustomization(doc):
        meta = doc.get("metadata")  # type: ignore[union-attr]
        names.add(str(meta.get("name") or "") if isinstance(meta, dict) else "")
    target = flux_target(doc)
    if target is None:
        return
    module = holder(target, modules)
    if module is None:
        return
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    depends = spec.get("dependsOn") if isinstance(spec.get("dependsOn"), list) else []
    key = (str(meta.get("namespace") or "flux-system"), str(meta.get("name") or ""))
    previous = out.get(key)
    out[key] = (module, [*(previous[1] if previous else []), *depends])


def _is_kustomization(doc: object) -> bool:
    return isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/") and doc.get("kind") == "Kustomization"


def _target(dep: object, namespace: str, known: dict, by_name: dict[str, list[str]]) -> str | None:
    if not isinstance(dep, dict) or not dep.get("name"):
        return None
    name = str(dep["name"])
    found = known.get((str(dep.get("namespace") or namespace), name))
    if found is not None:
        return found[0]
    same = set(by_name.get(name, []))
    return same.pop() if len(same) == 1 else None  # a name unique across namespaces


def holder(path: str, modules: list[str]) -> str | None:
    """The module whose folder is ``path`` or holds it (a Kustomization of one of its workloads)."""
    best = None
    for module in modules:
        if (path == module or path.startswith(f"{module}/")) and (best is None or len(module) > len(best)):
            best = module
    return best


# -- the order ---------------------------------------------------------------


def plan_next(candidates: list[Candidate], graph: DependencyGraph, blockers: list[tuple[str, str]]) -> NextPlan:
    """Legacy modules, pairs together, split into ready and waiting, each with its reason.

    ``blockers``: the open ones, as (title, all their text).
    """
    by_path = {c.path: c for c in candidates}
    missing = graph.missing
    plan = NextPlan()
    for unit in _units(candidates):
        item = _item(unit, by_path, graph, blockers)
        item.missing = sorted({name for p in item.modules for name in missing.get(p, ())})
        (plan.waiting if item.waiting_on else plan.ready).append(item)
    order = _Order(plan.waiting, by_path, graph)
    for item in plan.ready + plan.waiting:
        item.cycle = order.cycle(item)
        item.reason = _reason(item, by_path, order)
    plan.ready.sort(key=lambda i: (bool(i.blockers), i.size, i.title))
    plan.waiting.sort(key=lambda i: (order.steps(i), bool(i.cycle), i.size, i.title))
    return plan


class _Order:
    """The waiting items, and the modules not migrated yet, as a graph of units (a pair is one):
    which wait for each other (a cycle, migrated together), and how many migrations away each is."""

    def __init__(self, waiting: list[NextItem], by_path: dict[str, Candidate], graph: Mapping[str, set[str]]) -> None:
        nodes = {p for p, c in by_path.items() if c.status in WAITS}
        self.unit = {p: p for p in nodes} | {p: item.title for item in waiting for p in item.modules}
        self.pending = {item.title for item in waiting}
        self.names = {p: by_path[p].name for p in nodes} | {item.title: item.title for item in waiting}
        self.edges: dict[str, set[str]] = {}
        for path, unit in self.unit.items():
            deps = {self.unit[d] for d in graph.get(path, ()) if d in nodes}
            self.edges.setdefault(unit, set()).update(deps - {unit})
        reach = {u: self._reach(u) for u in self.edges}
        self.component = {u: frozenset({u} | {v for v in reach[u] if u in reach[v]}) for u in self.edges}
        self.memo: dict[frozenset[str], int] = {}

    def _reach(self, start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.edges.get(start, ()))
        while todo:
            unit = todo.pop()
            if unit not in seen:
                seen.add(unit)
                todo += self.edges.get(unit, ())
        return seen

    def cycle(self, item: NextItem) -> list[str]:
        """The module paths that ``item`` waits for and that wait for it, through others or not."""
        unit = self.unit.get(item.modules[0])
        if unit is None or unit not in self.component:
            return []
        others = self.component[unit] - {unit}
        return sorted(p for p, u in self.unit.items() if u in others)

    def cycle_names(self, item: NextItem) -> list[str]:
        others = {self.unit[p] for p in item.cycle}
        return [item.title, *sorted(self.names[u] for u in others)]

    def steps(self, item: NextItem) -> int:
        return self._away(self.component[item.title]) if item.title in self.component else 0

    def _away(self, component: frozenset[str]) -> int:
        """1 when all it waits for are ready (a cycle: once its units are migrated together),
        else one more than the farthest of the waiting units it waits for."""
        if component not in self.memo:
            outside = {self.component[v] for u in component for v in self.edges.get(u, ())} - {component}
            if not outside and len(component) == 1:
                self.memo[component] = 0
            else:
                farthest = (self._away(c) for c in outside if c & self.pending)
                self.memo[component] = 1 + max(farthest, default=0)
        return self.memo[component]


def _units(candidates: list[Candidate]) -> list[list[Candidate]]:
    units: dict[tuple, list[Candidate]] = {}
    for c in candidates:
        if c.status == "legacy":
            units.setdefault((c.group, c.pair) if c.pair else (c.path,), []).append(c)
    return [sorted(u, key=lambda c: (not c.name.endswith("-core"), c.name)) for u in units.values()]


def _item(unit: list[Candidate], by_path: dict[str, Candidate], graph: Mapping[str, set[str]], blockers) -> NextItem:
    paths = [c.path for c in unit]
    depends = sorted({d for p in paths for d in graph.get(p, ()) if d not in paths and d in by_path})
    waiting = [d for d in depends if by_path[d].status in WAITS]
    size = sum(dict(s for c in unit for s in c.suites).values())
    item = NextItem(_title(unit), paths, size, "", depends, waiting)
    item.blockers = [title for title, text in blockers if any(names_module(text, c) for c in unit)]
    return item


def _title(unit: list[Candidate]) -> str:
    if len(unit) > 1 and unit[0].pair:
        return f"{unit[0].pair}-" + "/".join(c.name.removeprefix(f"{unit[0].pair}-") for c in unit)
    return unit[0].name


def _reason(item: NextItem, by_path: dict[str, Candidate], order: _Order) -> str:
    def named(paths: list[str]) -> str:
        return ", ".join(f"{by_path[p].name} ({by_path[p].status.replace('_', ' ')})" for p in paths)

    if item.waiting_on:
        parts = [f"waits for {named(item.waiting_on)}"]
    elif item.depends_on:
        parts = [f"its dependencies are migrated: {', '.join(by_path[p].name for p in item.depends_on)}"]
    else:
        parts = [] if item.missing else ["depends on no other module"]
    if item.cycle:
        *first, last = order.cycle_names(item)
        parts.append(f"{', '.join(first)} and {last} depend on each other: migrate them together")
    if item.missing:
        which = "a Kustomization that does not exist" if len(item.missing) == 1 else "Kustomizations that do not exist"
        parts.append(f"depends on {', '.join(item.missing)}, {which}: Flux will not reconcile it")
    parts.append(f"{item.size} legacy check{'s' if item.size != 1 else ''}")
    if len(item.modules) > 1:
        parts.append("the pair goes together")
    if item.blockers:
        parts.append(f"named by an open blocker: {item.blockers[0]}")
    return "; ".join(parts)


def names_module(text: str, module: Candidate) -> bool:
    """Whether a blocker's text names the module: its folder name as a word, or its
    pair as the document writes it ("networking-core/extra")."""
    words = [module.name]
    if module.pair:
        words.append(f"{module.pair}-core/extra")
    return any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, re.IGNORECASE) for w in words)
