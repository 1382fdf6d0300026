"""Draft the chainsaw test of a kuttl test folder, as ``chainsaw migrate kuttl tests`` would.

The numbered files of the folder are grouped by their number into steps
(``step-00``, ``step-01``...). In each: a kuttl ``TestStep``'s ``delete``
first (kuttl deletes before anything else), its ``commands`` (``script`` or
``command``, with their timeouts), its extra ``apply``/``assert``/``error``
files, then the step's files: plain manifests applied, ``NN-assert*`` files
asserted, ``NN-errors*`` files as ``error``. The files stay where they are
and are referenced; a file that mixes kuttl objects with manifests has its
manifests inlined instead, so nothing has to be rewritten. A ``TestAssert``'s
timeout and the ``TestSuite``'s become the step's and the test's assert and
error timeouts (chainsaw's converter leaves them out); its collectors become
``catch`` operations.
"""

from __future__ import annotations

import posixpath
import re
import shlex

from app.assistant.model import Draft, DraftError, DraftFile, to_yaml
from app.assistant.snapshot import Commit
from app.scanner.layout import CHAINSAW_FILES
from app.scanner.legacy import is_kuttl, is_step_file
from app.scanner.model import LegacyEvidence, Module

NUMBER = re.compile(r"^(\d+)-(.*)\.ya?ml\Z")
ROLES = ("apply", "assert", "error")
REFERENCE = ("apiVersion", "kind", "name", "namespace", "labels")  # what a kuttl delete and a chainsaw ref share


def draft_kuttl(commit: Commit, module: Module, cases: list[LegacyEvidence]) -> Draft:
    draft = Draft(modules=[module.path], commit=commit.sha, style="kuttl")
    hidden = _hidden_folder(commit, module)
    if hidden:
        draft.learned.append(f"chainsaw tests sit in a {hidden}/ folder beside the kuttl files, as the migrated ones do")
    for case in cases:
        test_folder = f"{case.suite}/{hidden}" if hidden and _inside(case.suite, module.path) else case.suite
        test = _Case(commit, draft, case, test_folder).test()
        comment = f"Drafted by sawmill from the kuttl test {case.suite}: review and run it (it reads the numbered files)."
        draft.files.append(DraftFile(f"{test_folder}/chainsaw-test.yaml", to_yaml(test, "Test", comment)))
    return draft


def _hidden_folder(commit: Commit, module: Module) -> str | None:
    """``.chainsaw-test`` when the repository's migrated tests sit in a hidden folder of their own."""
    counts: dict[str, int] = {}
    for other in commit.modules:
        for evidence in other.evidence.chainsaw:
            folder = posixpath.basename(posixpath.dirname(evidence.test_file))
            if folder.startswith(".") and _inside(evidence.test_file, other.path):
                counts[folder] = counts.get(folder, 0) + 1
    return max(counts, key=lambda f: (counts[f], f)) if counts else None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(f"{folder}/")


class _Case:
    def __init__(self, commit: Commit, draft: Draft, case: LegacyEvidence, folder: str) -> None:
        self.commit = commit
        self.draft = draft
        self.case = case
        self.folder = folder  # where the chainsaw test goes: file references are written from there

    def test(self) -> dict:
        spec: dict = {}
        timeout = self.suite_timeout()
        if timeout:
            spec["timeouts"] = {"assert": timeout, "error": timeout}
        spec["steps"] = [self.step(number, files) for number, files in self.steps().items()]
        name = posixpath.basename(self.case.suite).replace("_", "-").lower()
        return {"apiVersion": "chainsaw.kyverno.io/v1alpha1", "kind": "Test", "metadata": {"name": name}, "spec": spec}

    def steps(self) -> dict[str, list[str]]:
        grouped: dict[int, tuple[str, list[str]]] = {}
        for path in self.commit.listdir(self.case.suite):
            match = NUMBER.match(posixpath.basename(path))
            if match and is_step_file(path) and posixpath.basename(path) not in CHAINSAW_FILES:
                grouped.setdefault(int(match[1]), (match[1], []))[1].append(path)
        return {label: files for _n, (label, files) in sorted(grouped.items())}

    def suite_timeout(self) -> str | None:
        link = self.case.link
        for doc in self.commit.docs(link) if link.endswith((".yaml", ".yml")) else ():
            if is_kuttl(doc, "TestSuite") and isinstance(doc.get("timeout"), int):
                return f"{doc['timeout']}s"
        return None

    def step(self, number: str, files: list[str]) -> dict:
        step: dict = {"name": f"step-{number}", "try": []}
        first: list[dict] = []  # a TestStep's own operations come before the step's files
        for path in sorted(files, key=lambda p: ROLES.index(_role(p))):  # applied, then asserted, as kuttl does
            role = _role(path)
            docs = [d for d in self.commit.docs(path) if isinstance(d, dict)]
            kuttl = [d for d in docs if str(d.get("apiVersion", "")).startswith("kuttl.dev/")]
            plain = [d for d in docs if d not in kuttl]
            for doc in kuttl:
                if doc.get("kind") == "TestStep":
                    first += self.test_step(doc, path)
                elif doc.get("kind") == "TestAssert":
                    self.test_assert(doc, step, path)
                else:
                    self.draft.notes.append(f"{path}: {doc.get('kind')} is not a kuttl step object; left out")
            if kuttl and plain:
                step["try"] += [{role: {"resource": doc}} for doc in plain]
            elif plain:
                step["try"].append({role: {"file": self.ref(path)}})
            elif not docs:  # chainsaw refuses a file with no resource in it
                self.draft.notes.append(f"{path}: no resource in it (comments only?); left out")
        step["try"] = first + step["try"]
        step = {k: step[k] for k in ("name", "timeouts", "try", "catch") if k in step}  # the order people read
        if not step["try"]:
            step["try"].append({"sleep": {"duration": "0s"}})  # chainsaw wants one operation; the kuttl step had none
            self.draft.notes.append(f"{self.case.suite} step {number}: nothing to run in it")
        return step

    def test_step(self, doc: dict, path: str) -> list[dict]:
        out: list[dict] = []
        for target in doc.get("delete") or []:
            if isinstance(target, dict):
                out.append({"delete": {"ref": {k: target[k] for k in REFERENCE if target.get(k)}}})
        for command in doc.get("commands") or []:
            if isinstance(command, dict):
                out += self.command(command, path)
        for role, key in (("apply", "apply"), ("assert", "assert"), ("error", "error")):
            for ref in doc.get(key) or []:
                out.append({role: {"file": self.ref(posixpath.join(self.case.suite, str(ref)))}})
        return out

    def command(self, command: dict, path: str) -> list[dict]:
        if command.get("background"):
            self.draft.notes.append(f"{path}: a background command has no chainsaw counterpart; left out")
            return []
        if command.get("namespaced"):
            self.draft.notes.append(f"{path}: namespaced: chainsaw gives commands $NAMESPACE instead of a --namespace flag")
        timeout = f"{command['timeout']}s" if isinstance(command.get("timeout"), int) and command["timeout"] else None
        script, line = command.get("script"), command.get("command")
        body: dict
        if command.get("ignoreFailure"):  # kuttl goes on after a failure: so does the shell
            body = {"script": {"content": _ignoring_failure(str(script or line))}}
        elif script:
            body = {"script": {"content": str(script)}}
        elif line:
            words = self.split(str(line), path)
            body = {"command": {"entrypoint": words[0], **({"args": words[1:]} if words[1:] else {})}}
        else:
            return []
        if command.get("skipLogOutput"):
            next(iter(body.values()))["skipLogOutput"] = True
        if timeout:
            next(iter(body.values()))["timeout"] = timeout
        return [body]

    def split(self, line: str, path: str) -> list[str]:
        try:
            return shlex.split(line)
        except ValueError as exc:  # an unclosed quote: kuttl refuses the step too
            step = NUMBER.match(posixpath.basename(path))[1]  # type: ignore[index]
            raise DraftError(f"{path} (step {step}): the command {line!r} cannot be split into words ({exc})") from exc

    def test_assert(self, doc: dict, step: dict, path: str) -> None:
        if isinstance(doc.get("timeout"), int):
            step["timeouts"] = {"assert": f"{doc['timeout']}s", "error": f"{doc['timeout']}s"}
        for command in doc.get("commands") or []:
            if isinstance(command, dict) and (command.get("script") or command.get("command")):
                step["try"].append({"script": {"content": str(command.get("script") or command.get("command"))}})
        for collector in doc.get("collectors") or []:
            if isinstance(collector, dict):
                step.setdefault("catch", []).append(_collector(collector))

    def ref(self, path: str) -> str:
        return posixpath.relpath(path, self.folder)


def _ignoring_failure(script: str) -> str:
    """``sh -c SCRIPT || true``: the script as a whole, in a shell of its own, as kuttl ran it. Appended
    to the script itself, ``|| true`` would cover its last line alone, be swallowed by a trailing
    ``# comment`` or break after a trailing ``;``; and ``set -e`` inside ``{ ...; } || true`` would
    be ignored, where kuttl stops at the failure."""
    return f"sh -c {shlex.quote(script.strip(chr(10)))} || true"


def _role(path: str) -> str:
    rest = NUMBER.match(posixpath.basename(path))[2]  # type: ignore[index]
    if rest == "assert" or rest.startswith("assert-"):
        return "assert"
    if rest == "errors" or rest.startswith("errors-"):
        return "error"
    return "apply"


def _collector(collector: dict) -> dict:
    kind = collector.get("type") or ("command" if collector.get("cmd") else "pod")
    if kind == "command":
        return {"script": {"content": str(collector.get("cmd", ""))}}
    where = {k: collector[k] for k in ("namespace", "selector") if collector.get(k)}
    if collector.get("pod"):
        where["name"] = collector["pod"]
    if kind == "events":
        return {"events": where}
    extra = {"container": collector["container"]} if collector.get("container") else {}
    return {"podLogs": {**where, **extra, **({"tail": collector["tail"]} if collector.get("tail") else {})}}
