"""What the repository's migrated chainsaw suites share, learned from their files.

The first migrated suites set the pattern the team follows by hand: a
bootstrap step template, assertion files taking bindings (a deployment-ready
check), a reconcile script or template, one validate template per module, the
same ``catch`` block, a workflow that runs chainsaw for the suite. Nothing
here names those files: each habit is found by what the files do, in the
suite most like the one being drafted, and reused with its paths rebased.
With no migrated suite, ``Conventions`` is empty and the draft uses plain
chainsaw operations.
"""

from __future__ import annotations

import copy
import posixpath
import re
from dataclasses import dataclass, field

from app.assistant.checks import kind_key
from app.assistant.snapshot import Commit
from app.scanner.chainsaw import BLOCKS, flux_target, is_chainsaw
from app.scanner.model import Module, Status
from app.scanner.snapshot import is_expression, resolve

BINDING = re.compile(r"^\(\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*\)$")
CONDITION_TYPE = re.compile(r"type\s*==\s*'([^']+)'|'type':\s*'([^']+)'")


@dataclass
class SharedAssertion:
    """An assertion file outside any suite that takes the resource's name (and namespace) as bindings."""

    path: str
    kind: str  # kind key
    group: str
    conditions: set[str]
    name_binding: str
    namespace_binding: str | None


@dataclass
class Reconcile:
    """How migrated suites reconcile: a script operation, or a step using a shared template."""

    operation: dict | None = None  # a script operation as written
    step: dict | None = None  # a step using a template, as written
    names: tuple[str, ...] = ()  # the Flux Kustomization names it was written for
    namespace: str | None = None


@dataclass
class Validate:
    """One StepTemplate per module beside the test: its file name and step name, with placeholders."""

    file: str  # "validate-{manifest}.yaml"
    step: str  # "Validate {module}"


@dataclass
class Workflow:
    path: str
    text: str
    folder: str  # the suite folder it runs
    modules: list[str]


@dataclass
class Conventions:
    model: str | None = None  # the migrated test the draft follows
    folder: str = ""  # its folder: every path below is written from there
    bootstrap: list[dict] = field(default_factory=list)
    apply_step: str | None = None
    assertions: list[SharedAssertion] = field(default_factory=list)
    reconcile: Reconcile | None = None
    validate: Validate | None = None
    catch: list[dict] = field(default_factory=list)
    workflow: Workflow | None = None

    def learned(self) -> list[str]:
        if self.model is None:
            return []
        out = [f"follows {self.model}"]
        out += [f"bootstrap step {s.get('name') or s['use']['template']!r}" for s in self.bootstrap]
        out += [f"assertion file {a.path} with bindings" for a in self.assertions]
        if self.reconcile:
            out.append("the reconcile " + ("template" if self.reconcile.step else "script") + " of the migrated suites")
        if self.validate:
            out.append(f"one validate template per module ({self.validate.file})")
        if self.catch:
            out.append(f"their catch block ({len(self.catch)} operation{'s' if len(self.catch) != 1 else ''})")
        if self.workflow:
            out.append(f"the workflow that runs chainsaw ({self.workflow.path})")
        return out

    def rebase(self, value: object, folder: str) -> object:
        """``value`` (operations, steps) with its file references rewritten from the model's folder to ``folder``."""
        return _rebase(copy.deepcopy(value), self.folder, folder)

    def assertion_for(self, key: str, group: str | None, condition: str) -> SharedAssertion | None:
        for found in self.assertions:
            if found.kind == key and (group is None or found.group == group) and condition in found.conditions:
                return found
        return None

    def condition_types(self) -> set[str]:
        """The condition types the shared assertions check, as they spell them."""
        return {c for found in self.assertions for c in found.conditions}


def learn(commit: Commit, drafted: list[Module], folder: str | None = None) -> Conventions:
    """The conventions of the migrated suites most like the one covering ``drafted``; none of the
    tests in ``folder`` (the one drafted into) is learned from: the draft would copy itself."""
    tests = {t: m for t, m in _migrated_tests(commit.modules).items() if posixpath.dirname(t) != folder}
    if not tests:
        return Conventions()
    group = drafted[0].group
    model = min(tests, key=lambda t: (len(tests[t]) != len(drafted), tests[t][0].group != group, t))
    found = Conventions(model=model, folder=posixpath.dirname(model))
    _Learner(commit, found, tests).run(model)
    return found


def _migrated_tests(modules: list[Module]) -> dict[str, list[Module]]:
    tests: dict[str, list[Module]] = {}
    for module in modules:
        if module.status in (Status.MIGRATED, Status.IN_PROGRESS):
            for evidence in module.evidence.chainsaw:
                tests.setdefault(evidence.test_file, []).append(module)
    return tests


class _Learner:
    def __init__(self, commit: Commit, found: Conventions, tests: dict[str, list[Module]]) -> None:
        self.commit = commit
        self.found = found
        self.tests = tests
        self.checks_catch = False

    def run(self, model: str) -> None:
        self.test(model, model=True)
        for other in sorted(self.tests):
            if other != model:
                self.test(other, model=False)
        self.found.workflow = self.workflow(model)

    def test(self, path: str, model: bool) -> None:
        folder = posixpath.dirname(path)
        names, namespace = self.flux_names(path)
        applied = False
        for doc in self.commit.docs(path):
            if not is_chainsaw(doc, "Test"):
                continue
            for step in (doc.get("spec") or {}).get("steps") or []:
                if not isinstance(step, dict):
                    continue
                template = self.template_path(step, folder)
                if self.applies_own(step, folder):
                    applied = True
                    if model and self.found.apply_step is None:
                        self.found.apply_step = step.get("name")
                elif template and not template.startswith(f"{folder}/"):
                    self.shared_step(step, template, applied, model, names, namespace)
                elif template and model:
                    self.validate_template(step, template, path)
                self.operations(step, folder, names, namespace)
                if template:
                    for spec in self.template_specs(template):
                        self.operations(spec, folder, names, namespace)

    def shared_step(self, step, template, applied, model, names, namespace) -> None:
        """A step using a shared template: the suite's reconcile when it names the suite's own
        Flux objects, else (in the model, before its manifests are applied) its bootstrap."""
        if _bound_to(step, names) and self.reconciles(template):
            if self.found.reconcile is None:
                self.found.reconcile = Reconcile(step=copy.deepcopy(step), names=names, namespace=namespace)
        elif model and not applied:
            self.found.bootstrap.append(copy.deepcopy(step))

    def reconciles(self, template: str) -> bool:
        return "reconcile" in template.lower() or "reconcile" in (self.commit.text(template) or "")

    def validate_template(self, step: dict, template: str, test: str) -> None:
        name = posixpath.basename(template)
        for module in self.tests[test]:
            manifest = self.manifest_stem(module, test)
            if manifest and manifest in name and self.found.validate is None:
                label = str(step.get("name") or "")
                self.found.validate = Validate(
                    file=name.replace(manifest, "{manifest}"),
                    step=label.replace(module.name, "{module}") if module.name in label else label,
                )
                for spec in self.template_specs(template):
                    self.catch(spec.get("catch"), checks=True)

    def operations(self, step: dict, folder: str, names: tuple[str, ...], namespace: str | None) -> None:
        self.catch(step.get("catch"))
        for block in BLOCKS:
            for operation in step.get(block) or []:
                if not isinstance(operation, dict):
                    continue
                script = operation.get("script")
                if isinstance(script, dict) and "reconcile" in str(script.get("content", "")):
                    if self.found.reconcile is None and any(n in str(script.get("content")) for n in names):
                        self.found.reconcile = Reconcile(operation=copy.deepcopy(operation), names=names, namespace=namespace)
                body = operation.get("assert")
                if isinstance(body, dict) and isinstance(body.get("file"), str) and body.get("bindings"):
                    self.shared_assertion(resolve(folder, body["file"]))

    def catch(self, operations: object, checks: bool = False) -> None:
        """The first catch block met; one of a module's checks (a validate template's) wins over
        any other, such as a bootstrap template's."""
        if not isinstance(operations, list) or not operations or self.checks_catch:
            return
        if checks or not self.found.catch:
            self.found.catch = copy.deepcopy(operations)
            self.checks_catch = checks

    def shared_assertion(self, path: str | None) -> None:
        if path is None or any(a.path == path for a in self.found.assertions) or self.in_suite(path):
            return
        for doc in self.commit.docs(path):
            if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
                continue
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
            name = BINDING.match(str(meta.get("name", "")).strip())
            if name is None:
                continue
            namespace = BINDING.match(str(meta.get("namespace", "")).strip())
            types = {a or b for a, b in CONDITION_TYPE.findall(str(doc.get("status", "")))}
            group = str(doc.get("apiVersion", "")).rpartition("/")[0]
            self.found.assertions.append(
                SharedAssertion(path, kind_key(doc["kind"]), group, types, name[1], namespace[1] if namespace else None)
            )
            return

    def workflow(self, model: str) -> Workflow | None:
        folder = posixpath.dirname(model)
        for path in self.commit.under(self.commit.config.workflows):
            text = self.commit.text(path) or ""
            if "chainsaw" in text and re.search(rf"{re.escape(folder)}(?![\w-])", text):
                return Workflow(path, text, folder, [m.path for m in self.tests[model]])
        return None

    # -- reading --------------------------------------------------------------
    def template_path(self, step: dict, folder: str) -> str | None:
        use = step.get("use")
        ref = use.get("template") if isinstance(use, dict) else None
        return resolve(folder, ref) if isinstance(ref, str) and not is_expression(ref) else None

    def template_specs(self, path: str) -> list[dict]:
        return [d["spec"] for d in self.commit.docs(path) if is_chainsaw(d, "StepTemplate") and isinstance(d.get("spec"), dict)]

    def applies_own(self, step: dict, folder: str) -> bool:
        for operation in step.get("try") or []:
            body = operation.get("apply") if isinstance(operation, dict) else None
            ref = body.get("file") if isinstance(body, dict) else None
            path = resolve(folder, ref) if isinstance(ref, str) and not is_expression(ref) else None
            if path and path.startswith(f"{folder}/") and any(flux_target(d) for d in self.commit.docs(path)):
                return True
        return False

    def flux_names(self, test: str) -> tuple[tuple[str, ...], str | None]:
        names, namespace = [], None
        for module in self.tests[test]:
            for evidence in module.evidence.chainsaw:
                for doc in self.commit.docs(evidence.link) if evidence.test_file == test else ():
                    meta = doc.get("metadata") if flux_target(doc) else None
                    if isinstance(meta, dict) and meta.get("name"):
                        names.append(str(meta["name"]))
                        namespace = namespace or meta.get("namespace")
        return tuple(sorted(set(names), key=len, reverse=True)), namespace

    def manifest_stem(self, module: Module, test: str) -> str | None:
        for evidence in module.evidence.chainsaw:
            if evidence.test_file == test and evidence.link.endswith((".yaml", ".yml")):
                return posixpath.splitext(posixpath.basename(evidence.link))[0]
        return None

    def in_suite(self, path: str) -> bool:
        return any(path.startswith(f"{posixpath.dirname(t)}/") for t in self.tests)


def _bound_to(step: dict, names: tuple[str, ...]) -> bool:
    return any(n in str(step) for n in names)


def _rebase(value: object, old: str, new: str) -> object:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("file", "template") and isinstance(item, str) and not is_expression(item):
                path = resolve(old, item)
                value[key] = posixpath.relpath(path, new or ".") if path is not None else item
            elif key == "content" and isinstance(item, str):
                value[key] = " ".join(_rebase_word(w, old, new) for w in item.split(" ")) if "\n" not in item else item
            else:
                value[key] = _rebase(item, old, new)
    elif isinstance(value, list):
        return [_rebase(item, old, new) for item in value]
    return value


def _rebase_word(word: str, old: str, new: str) -> str:
    """A script's relative path (``../chainsaw/scripts/x.sh``) written again from ``new``."""
    if not word.startswith(("./", "../")):
        return word
    path = resolve(old, word)
    return posixpath.relpath(path, new or ".") if path is not None else word
