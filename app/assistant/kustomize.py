"""Draft the chainsaw test of a workflow-driven kustomize suite (see /work/shared/LAYOUT.md).

The suite folder keeps its Flux manifests; beside them the draft adds
``chainsaw-test.yaml``: the repository's bootstrap (when its migrated suites
have one), the borrowed manifests, the suite's own manifests applied, one
reconcile step per ``reconcile_items`` entry, and per module the
``success_conditions`` that concern it as assertions (in a validate template
per module when that is the repository's habit). Every module the suite
tests is drafted at once: a core/extra pair moves together.
"""

from __future__ import annotations

import copy
import dataclasses
import posixpath
import re

from app.assistant.conditions import Condition, ReconcileItem, SuiteInputs, suite_inputs
from app.assistant.conventions import Conventions, learn
from app.assistant.kinds import Kinds
from app.assistant.model import Draft, DraftError, DraftFile, to_yaml
from app.assistant.operations import condition_operation, condition_type, ready_assertion, reconcile_operation
from app.assistant.parity import named_after
from app.assistant.snapshot import Commit
from app.scanner.layout import CHAINSAW_FILES, KUSTOMIZATION_FILES
from app.scanner.legacy import analyse_kustomize
from app.scanner.model import LegacyEvidence, Module
from app.scanner.snapshot import resolve
from app.scanner.yamlload import load, mappings

TEST_FILE = "chainsaw-test.yaml"


def draft_kustomize(commit: Commit, module: Module, evidence: LegacyEvidence) -> Draft:
    folder = evidence.suite
    _refuse_existing_test(commit, folder)
    suite = analyse_kustomize(commit.reader(), _kustomization(commit, folder))
    own = [link for link in suite.links if posixpath.dirname(link.manifest) == folder]
    targets = {link.target for link in own}
    modules = [m for m in commit.modules if m.path in targets] or [module]
    draft = Draft(modules=[m.path for m in modules], commit=commit.sha, style="kustomize")
    conventions = learn(commit, modules, folder)
    draft.learned = conventions.learned()
    builder = _Builder(commit, draft, conventions, _kinds(commit, modules, [link.manifest for link in suite.links]), folder)
    borrowed = [link.manifest for link in suite.links if link not in own]
    steps = builder.bootstrap() + builder.apply(borrowed, own)
    inputs = _inputs(commit, evidence, draft)
    steps += [builder.reconcile(item) for item in inputs.reconcile]
    for member, conditions in _by_module(commit, modules, inputs.conditions, draft):
        steps += builder.validate(member, conditions, _manifest_of(own, member))
    source = evidence.workflow or evidence.link
    builder.test(steps, f"Drafted by sawmill from {source}: review, run, then delete the legacy suite.")
    builder.workflow(modules, evidence.workflow)
    return draft


def _refuse_existing_test(commit: Commit, folder: str) -> None:
    """A chainsaw test already in the suite folder (one half of a pair migrated) is the team's
    work: the draft would overwrite it."""
    for path in (f"{folder}/{name}" for name in CHAINSAW_FILES):
        if commit.exists(path):
            raise DraftError(
                f"{path} already exists: add the legacy suite's remaining checks to it by hand,"
                " or move it out of the folder and draft again"
            )


def _kustomization(commit: Commit, folder: str) -> str:
    names = [f"{folder}/{name}" for name in KUSTOMIZATION_FILES]
    return next((path for path in names if commit.exists(path)), names[0])


def _inputs(commit: Commit, evidence: LegacyEvidence, draft: Draft) -> SuiteInputs:
    found = suite_inputs(commit.docs(evidence.workflow), evidence.workflow, evidence.suite) if evidence.workflow else None
    if found is None:
        draft.notes.append(f"no workflow passes {evidence.suite} as test_path: nothing to reconcile or assert was found")
        return SuiteInputs(evidence.workflow or "", [], [], [])
    draft.notes += [f"{found.workflow}: entry not read: {entry}" for entry in found.unread]
    return found


def _kinds(commit: Commit, modules: list[Module], manifests: list[str]) -> Kinds:
    kinds = Kinds()
    for path in [p for m in modules for p in commit.under(m.path)] + manifests:
        if path.endswith((".yaml", ".yml")):
            kinds.learn(commit.docs(path))
    return kinds


def _by_module(
    commit: Commit, modules: list[Module], conditions: list[Condition], draft: Draft
) -> list[tuple[Module, list[Condition]]]:
    """Each condition goes to the module whose manifests hold its namespace, else the module named
    as the namespace (as parity splits them), else the one whose manifests hold its name, else the first."""
    places = {m.path: _places(commit, m) for m in modules}
    out: dict[str, list[Condition]] = {m.path: [] for m in modules}
    for condition in conditions:
        owner = next((m for m in modules if condition.namespace in places[m.path][0]), None)
        owner = owner or next((m for m in modules if named_after(m.path, condition.namespace)), None)
        owner = owner or next((m for m in modules if condition.name in places[m.path][1]), None)
        if owner is None:
            owner = modules[0]
            if len(modules) > 1:
                where = f"{condition.resource} -n {condition.namespace}"
                draft.notes.append(f"{where}: no module's manifests name it; put under {owner.name}")
        out[owner.path].append(condition)
    return [(m, out[m.path]) for m in modules]


def _places(commit: Commit, module: Module) -> tuple[set[str], set[str]]:
    namespaces: set[str] = set()
    names: set[str] = set()
    for path in commit.under(module.path):
        for doc in commit.docs(path) if path.endswith((".yaml", ".yml")) else ():
            if not isinstance(doc, dict):  # a JSON6902 patch file is a list
                continue
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
            if doc.get("kind") == "Namespace" and meta.get("name"):
                namespaces.add(str(meta["name"]))
            spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
            namespaces.update(str(v) for v in (meta.get("namespace"), spec.get("targetNamespace")) if v)
            if meta.get("name"):
                names.add(str(meta["name"]))
    return namespaces, names


def _manifest_of(own: list, module: Module) -> str | None:
    return next((link.manifest for link in own if link.target == module.path), None)


def _rel(path: str, folder: str) -> str:
    rel = posixpath.relpath(path, folder)
    return rel if rel.startswith("../") else f"./{rel}"


class _Builder:
    """Steps, written the repository's way when it has one."""

    def __init__(self, commit: Commit, draft: Draft, conventions: Conventions, kinds: Kinds, folder: str) -> None:
        self.commit = commit
        self.draft = draft
        self.conventions = conventions
        self.kinds = kinds
        self.folder = folder

    def add(self, path: str, content: str) -> None:
        before = self.commit.text(path) if self.commit.exists(path) else None
        if before != content:
            self.draft.files.append(DraftFile(path, content, before))

    def test(self, steps: list[dict], comment: str) -> None:
        """The Test, first among the files: the templates it uses follow it."""
        meta = {"name": posixpath.basename(self.folder)}
        test = {"apiVersion": "chainsaw.kyverno.io/v1alpha1", "kind": "Test", "metadata": meta, "spec": {"steps": steps}}
        path = f"{self.folder}/{TEST_FILE}"
        self.add(path, to_yaml(test, "Test", comment))
        self.draft.files.sort(key=lambda f: f.path != path)

    def apply(self, borrowed: list[str], own: list) -> list[dict]:
        """The manifests borrowed from other suites first, then the suite's own."""
        steps = []
        if borrowed:
            dependencies = [{"apply": {"file": _rel(p, self.folder)}} for p in dict.fromkeys(borrowed)]
            steps.append({"name": "Dependencies", "try": dependencies})
        applied = [{"apply": {"file": _rel(p, self.folder)}} for p in dict.fromkeys(link.manifest for link in own)]
        return [*steps, {"name": self.conventions.apply_step or "Apply modules", "try": applied}]

    def bootstrap(self) -> list[dict]:
        steps = [self.conventions.rebase(step, self.folder) for step in self.conventions.bootstrap]
        if not steps:
            self.draft.notes.append(
                "no migrated suite to learn a bootstrap from: Flux and the test source must already run in the cluster"
            )
        return steps

    def reconcile(self, item: ReconcileItem) -> dict:
        habit = self.conventions.reconcile
        if habit and habit.step:
            step = _renamed(self.conventions.rebase(habit.step, self.folder), habit.names, item)
            return _timed_bindings(step, item)
        operations = [self.reconcile_operation(item)]
        kind = self.kinds.find(item.kind, None)
        if kind is not None and habit is None:  # the team's own reconcile is trusted as it is
            operations.append(ready_assertion(kind, item.name, item.namespace, item.timeout))
        return {"name": f"Reconcile {item.name}", "try": operations}

    def reconcile_operation(self, item: ReconcileItem) -> dict:
        habit = self.conventions.reconcile
        if habit is None or habit.operation is None:
            return reconcile_operation(item)
        operation = _renamed(self.conventions.rebase(habit.operation, self.folder), habit.names, item)
        if item.timeout:
            operation["script"]["timeout"] = item.timeout
        return operation

    def validate(self, module: Module, conditions: list[Condition], manifest: str | None) -> list[dict]:
        operations = [self.check(c) for c in conditions]
        if not operations:
            self.draft.notes.append(f"{module.name}: no success condition concerns it; only its reconcile checks it")
            return []
        catch = [self.conventions.rebase(op, self.folder) for op in self.conventions.catch]
        habit = self.conventions.validate
        if habit is None or manifest is None:
            step = {"name": f"Validate {module.name}", "try": operations}
            return [{**step, "catch": catch} if catch else step]
        stem = posixpath.splitext(posixpath.basename(manifest))[0]
        file = habit.file.replace("{manifest}", stem)
        spec = {"try": operations, **({"catch": catch} if catch else {})}
        meta = {"name": posixpath.splitext(file)[0]}
        template = {"apiVersion": "chainsaw.kyverno.io/v1alpha1", "kind": "StepTemplate", "metadata": meta, "spec": spec}
        self.add(f"{self.folder}/{file}", to_yaml(template, "StepTemplate", f"Drafted by sawmill: the checks of {module.path}."))
        return [{"name": habit.step.replace("{module}", module.name), "use": {"template": f"./{file}"}}]

    def check(self, condition: Condition) -> dict:
        if condition.wait.how == "condition":  # condition=available: the type as the assertions spell it
            spelled = condition_type(condition.wait.subject, self.conventions.condition_types())
            condition = dataclasses.replace(condition, wait=dataclasses.replace(condition.wait, subject=spelled))
        shared = None
        if condition.wait.how == "condition" and (condition.wait.value or "true").lower() == "true":
            shared = self.conventions.assertion_for(condition.key, condition.group, condition.wait.subject)
        if shared is not None:
            bindings = [{"name": shared.name_binding, "value": condition.name}]
            if shared.namespace_binding and condition.namespace:
                bindings.append({"name": shared.namespace_binding, "value": condition.namespace})
            body = {"file": _rel(shared.path, self.folder), "bindings": bindings}
            return {"assert": {**body, "timeout": condition.timeout} if condition.timeout else body}
        operation, note = condition_operation(condition, self.kinds)
        if note:
            self.draft.notes.append(note)
        return operation

    def workflow(self, modules: list[Module], legacy: str | None) -> None:
        """The workflow that runs chainsaw, for this suite too: a workflow per suite is written
        again for it (in place of the legacy suite's own, which ran its tests in CI, unless that
        one runs other suites too: then beside it); a workflow listing every suite gets this one
        added beside the model's lines."""
        habit = self.conventions.workflow
        if habit is None:
            return
        pairs = [(habit.folder, self.folder), (posixpath.basename(habit.folder), posixpath.basename(self.folder))]
        pairs += _module_pairs(habit.modules, [m.path for m in modules])
        name = posixpath.basename(habit.path)
        if _stem(habit.folder) in name:
            renamed = name.replace(_stem(habit.folder), _stem(self.folder))
            path = legacy if legacy and self.runs_only_this_suite(legacy) else self.beside(habit.path, renamed)
            self.add(path, _substitute(habit.text, pairs, habit.modules, [m.path for m in modules]))
            if self.draft.files[-1].path == path and self.draft.files[-1].change == "changed":
                self.draft.notes.append(f"{path} now runs chainsaw instead of the legacy suite, as the migrated ones' do")
        else:
            self.add(habit.path, _added(habit.text, pairs))

    def runs_only_this_suite(self, workflow: str) -> bool:
        """Whether ``workflow`` is this suite's alone (one job, no other test_path): only then is it rewritten."""
        docs = [d for d in self.commit.docs(workflow) if isinstance(d, dict)]
        jobs = [job for d in docs if isinstance(d.get("jobs"), dict) for job in d["jobs"]]
        paths = {resolve("", n["test_path"].strip()) for n in mappings(docs) if isinstance(n.get("test_path"), str)}
        if len(jobs) <= 1 and paths <= {self.folder}:
            return True
        self.draft.notes.append(
            f"{workflow} runs more than this suite: left as it is (remove its {self.folder} job with the legacy suite);"
            " the chainsaw workflow is added beside it"
        )
        return False

    def beside(self, model: str, name: str) -> str:
        """``name`` in the model workflow's folder, or ``NAME-chainsaw.yaml`` when a workflow has that name."""
        path = posixpath.join(posixpath.dirname(model), name)
        stem, ext = posixpath.splitext(path)
        return f"{stem}-chainsaw{ext}" if self.commit.exists(path) else path


def _renamed(value: dict, names: tuple[str, ...], item: ReconcileItem) -> dict:
    text = to_yaml(value)
    for name in names:  # longest first: infra-x-core before infra-x
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", item.name, text)
    renamed = load(text)
    return renamed if isinstance(renamed, dict) else copy.deepcopy(value)


def _timed_bindings(step: dict, item: ReconcileItem) -> dict:
    use = step.get("use") if isinstance(step.get("use"), dict) else {}
    for binding in (use.get("with") or {}).get("bindings") or []:
        name = str(binding.get("name", "")).lower()
        if "timeout" in name and item.timeout:
            binding["value"] = item.timeout
        elif "namespace" in name:
            binding["value"] = item.namespace
    return step


def _added(text: str, pairs: list[tuple[str, str]]) -> str:
    """``text`` with, after each line naming the model suite, the same line for the new one."""
    out = []
    for line in text.splitlines(keepends=True):
        out.append(line)
        copy_ = _replaced(line, pairs)
        if copy_ != line and copy_ not in text:
            out.append(copy_)
    return "".join(out)


def _replaced(text: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in sorted(pairs, key=lambda p: len(p[0]), reverse=True):
        text = re.sub(rf"(?<![\w/-]){re.escape(old)}(?![\w-])", lambda _m, new=new: new, text)
    return text


def _stem(folder: str) -> str:
    """``infra-networking`` -> ``networking``: what a workflow's file name says of its suite."""
    return posixpath.basename(folder).partition("-")[2] or posixpath.basename(folder)


def _module_pairs(old: list[str], new: list[str]) -> list[tuple[str, str]]:
    """Old module paths to new ones, core to core and extra to extra, else in order."""
    pairs = []
    for index, path in enumerate(old):
        suffix = path.rpartition("-")[2]
        match = next((n for n in new if n.rpartition("-")[2] == suffix), None)
        match = match or (new[index] if index < len(new) else None)
        if match:
            pairs.append((path, match))
    return pairs


def _substitute(text: str, pairs: list[tuple[str, str]], old_modules: list[str], new_modules: list[str]) -> str:
    """The model workflow for the new suite: names replaced, lines about a module it lacks dropped,
    lines about a module the model lacked added."""
    mapped = dict(p for p in pairs if p[0] in old_modules)
    lines = []
    for line in text.splitlines(keepends=True):
        olds = [m for m in old_modules if m in line]
        if olds and not any(m in mapped for m in olds):
            continue
        lines.append(line)
        extra = [n for n in new_modules if n not in mapped.values()]
        if olds and extra and olds[0] == old_modules[-1]:
            lines += [line.replace(olds[0], n) for n in extra]
    return _replaced("".join(lines), pairs)
