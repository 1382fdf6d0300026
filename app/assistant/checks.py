"""The checks a test makes: which resource (kind, name, namespace) it asserts or waits for.

Legacy suites state them as a workflow's ``success_conditions`` (``resource:
deployment/traefik``, ``namespace: networking``) or as kuttl's numbered
``NN-assert.yaml`` / ``NN-errors.yaml`` objects; chainsaw tests as ``assert``,
``error`` and ``wait`` operations of the blocks a passing run executes (not
``catch``), inline or by file, through step templates
whose names and namespaces often come from bindings, and as the ``kubectl wait``
and ``kubectl rollout status`` commands of ``script`` and ``command``
operations (their ``$VARIABLES`` from the operation's ``env``). Everything here
is pure: a commit's files and a ``ParseCache`` in, ``Check``s out.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from app.scanner.layout import STEP_FILE
from app.scanner.parse import ParseCache
from app.scanner.snapshot import resolve
from app.scanner.source import BlobRef
from app.scanner.yamlload import entries, mappings

# kubectl's short names for what suites usually wait for; anything else is spelled out
SHORT_NAMES = {
    "deploy": "deployment", "sts": "statefulset", "ds": "daemonset", "svc": "service", "po": "pod",
    "ns": "namespace", "cm": "configmap", "pvc": "persistentvolumeclaim", "pv": "persistentvolume",
    "ing": "ingress", "hr": "helmrelease", "ks": "kustomization", "crd": "customresourcedefinition",
}  # fmt: skip
VERSION = re.compile(r"^v\d+((alpha|beta)\d+)?$")
KUTTL_CHECK = re.compile(r"^\d+-(assert|errors)\b[^/]*\.ya?ml\Z")
BINDING = re.compile(r"^\(\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*\)$")
CHECK_OPS = ("assert", "error", "wait")
# kubectl's flags that take a value as the next word (``--for condition=Ready``); others stand alone
VALUE_FLAGS = {"--for", "--timeout", "-l", "--selector", "--context", "--kubeconfig", "-f", "--filename", "-o",
               "--output", "--field-selector", "--cluster", "--user", "-s", "--server", "--revision"}  # fmt: skip
SHELL_BREAKS = set(";&|()")
MAX_COMMAND = 1024  # characters of one script line read for its commands: a longer one is no kubectl wait
VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
# the blocks of a step a passing run executes (and fails on): ``catch`` runs only once the step
# has failed, so a check there is never made when the test passes
BLOCKS = ("try", "finally", "cleanup")


@dataclass(frozen=True)
class Check:
    """One resource a test checks. ``group`` is its API group when the test says it
    ("" for the core group), None when it does not (``deployment/x``)."""

    kind: str
    name: str | None
    namespace: str | None
    source: str  # the file that states it
    group: str | None = None
    absent: bool = False  # the check is that it does not exist (kuttl errors, chainsaw error, a wait for deletion)

    def label(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        where = f" -n {self.namespace}" if self.namespace else ""
        return f"{'no ' if self.absent else ''}{kind}/{self.name or '*'}{where}"

    def to_dict(self) -> dict:
        return asdict(self)


def kind_key(kind: str) -> str:
    """A kind as kubectl and manifests both spell it, reduced to one form:
    ``Deployment``, ``deployments`` and ``deploy`` are all ``deployment``."""
    word = kind.strip().lower()
    word = SHORT_NAMES.get(word, word)
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def covers(chainsaw: Check, legacy: Check) -> bool:
    """Whether a chainsaw check asserts what a legacy one did: the same kind (a group
    both name must agree), and the same name; a nameless assertion covers every
    resource of its kind in the namespace it names."""
    if kind_key(chainsaw.kind) != kind_key(legacy.kind) or chainsaw.absent != legacy.absent:
        return False  # "it is there" never stands for "it is gone"
    if chainsaw.group is not None and legacy.group is not None and chainsaw.group != legacy.group:
        return False
    if chainsaw.name is None:
        return chainsaw.namespace is not None and chainsaw.namespace == legacy.namespace
    return chainsaw.name == legacy.name


class Files:
    """One commit's files, read through a ParseCache: YAML documents by path."""

    def __init__(self, files: Mapping[str, BlobRef], blobs: ParseCache) -> None:
        self.files = files
        self.blobs = blobs

    def docs(self, path: str | None) -> tuple:
        ref = self.files.get(path) if path is not None else None
        return self.blobs.parse(ref).docs if ref is not None else ()

    def under(self, folder: str) -> list[str]:
        prefix = f"{folder.rstrip('/')}/"
        return sorted(p for p in self.files if p.startswith(prefix))


# -- legacy ------------------------------------------------------------------


def workflow_checks(files: Files, workflow: str, suite: str) -> list[Check]:
    """The ``success_conditions`` a workflow lists for the suite folder it passes as ``test_path``."""
    found: list[Check] = []
    for node in mappings(list(files.docs(workflow))):
        test_path = node.get("test_path")
        if isinstance(test_path, str) and resolve("", test_path.strip()) == suite:
            found += [c for entry in entries(node.get("success_conditions")) if (c := condition_check(entry, workflow))]
    return found


def condition_check(entry: object, source: str) -> Check | None:
    """``{resource: cluster.postgresql.cnpg.io/db, namespace: data}`` as a Check."""
    if not isinstance(entry, dict):
        return None
    resource = str(entry.get("resource") or entry.get("kind") or "").strip()
    if not resource:
        return None
    kind, _, name = resource.partition("/")
    name = name or str(entry.get("name") or "") or None
    kind, _, group = kind.partition(".")
    group_parts = group.split(".") if group else []
    if group_parts and VERSION.match(group_parts[0]):  # deployment.v1.apps
        group_parts = group_parts[1:]
    namespace = entry.get("namespace")
    gone = str(entry.get("for") or "").strip().lower() == "delete"  # kubectl wait --for=delete
    return Check(kind, name, str(namespace) if namespace else None, source, ".".join(group_parts) or None, gone)


def command_checks(argv: list[str], source: str) -> list[Check]:
    """What ``kubectl wait ... deployment/x -n ns`` or ``kubectl rollout status deployment/x``
    waits for (``kind name...`` and ``kind --all`` too); any other command checks nothing.
    A word still holding a ``$VARIABLE`` names nothing that can be matched: it is left out."""
    at = next((i for i, word in enumerate(argv) if posixpath.basename(word) == "kubectl"), None)
    if at is None:  # wrappers before it (``timeout 300 kubectl ...``, ``FOO=1 kubectl ...``) are passed over
        return []
    words, namespace, waits_for, i, args = [], None, None, 0, argv[at + 1 :]
    while i < len(args):
        arg = args[i]
        if arg == "--for" or arg.startswith("--for="):
            waits_for = arg.partition("=")[2] if "=" in arg else (args[i + 1] if i + 1 < len(args) else None)
            i += 1 if "=" in arg else 2
        elif arg in ("-n", "--namespace"):
            namespace, i = (args[i + 1] if i + 1 < len(args) else None), i + 2
        elif arg.startswith("--namespace="):
            namespace, i = arg.partition("=")[2], i + 1
        elif arg.startswith("-n") and not arg.startswith("--") and len(arg) > 2:
            namespace, i = arg[2:], i + 1
        elif arg in VALUE_FLAGS:
            i += 2
        else:
            if not arg.startswith("-"):
                words.append(arg)
            i += 1
    if words[:1] == ["wait"]:
        targets = words[1:]
    elif words[:2] == ["rollout", "status"]:
        targets = words[2:]
    else:
        return []
    if targets and "/" not in targets[0]:  # ``kind name1 name2``, or ``kind`` alone (--all, -l)
        targets = [f"{targets[0]}/{name}" for name in targets[1:]] or [targets[0]]
    namespace = namespace if namespace and "$" not in namespace else None
    found = [condition_check({"resource": target, "namespace": namespace, "for": waits_for}, source)
             for target in targets if "$" not in target]  # fmt: skip
    return [check for check in found if check is not None]


def script_checks(content: str, source: str, variables: Mapping[str, str]) -> list[Check]:
    """The checks of the commands in a shell script (lines, ``;``, ``&&``, ``||`` and pipes
    apart; backslash continuations joined; ``$VARIABLES`` given a value from ``variables``)."""
    found: list[Check] = []
    for line in content.replace("\\\n", " ").splitlines():
        if "kubectl" not in line or len(line) > MAX_COMMAND:  # shlex is quadratic in a token's length
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars="".join(sorted(SHELL_BREAKS)))
        lexer.whitespace_split, lexer.commenters = True, "#"
        try:
            words = list(lexer)
        except ValueError:  # an unclosed quote: not a line we can read
            continue
        command: list[str] = []
        for word in [*words, ";"]:
            if set(word) <= SHELL_BREAKS:
                found += command_checks(command, source)
                command = []
            else:
                command.append(VARIABLE.sub(lambda m: variables.get(m[1] or m[2], m[0]), word))
    return found


def kuttl_checks(files: Files, folder: str) -> list[Check]:
    """The objects of a kuttl case's ``NN-assert`` and ``NN-errors`` files."""
    found: list[Check] = []
    for path in files.under(folder):
        name = posixpath.basename(path)
        check = KUTTL_CHECK.match(name)
        if posixpath.dirname(path) == folder and STEP_FILE.match(name) and check:
            found += [c for doc in files.docs(path) if (c := object_check(doc, path, {}, absent=check[1] == "errors"))]
    return found


# -- chainsaw ----------------------------------------------------------------


def object_check(doc: object, source: str, env: Mapping[str, object], absent: bool = False) -> Check | None:
    """A Kubernetes object (or a ``wait`` body) as a Check, names bound through ``env``;
    kuttl's and chainsaw's own objects are not checks."""
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
        return None
    api = str(doc.get("apiVersion") or "")
    if api.startswith(("kuttl.dev/", "chainsaw.kyverno.io/")):
        return None
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else doc  # a wait names them at its top
    group = api.rpartition("/")[0] if api else None
    name, namespace = bound(meta.get("name"), env), bound(meta.get("namespace"), env)
    return Check(doc["kind"], name, namespace, source, group, absent)


def bound(value: object, env: Mapping[str, object]) -> str | None:
    """A plain string as it is; ``($name)`` as the binding's value. Any other expression,
    or a binding left unset, stays as written: it names no resource a legacy check could."""
    written = value
    for _ in range(8):  # a binding may name another one
        if not isinstance(value, str) or not value.strip():
            return None if value is written else _text(written)
        match = BINDING.match(value.strip())
        if match is None:
            return value
        if match[1] not in env:
            return value.strip()
        value = env[match[1]]
    return _text(written)


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def chainsaw_checks(files: Files, test_file: str, test_name: str | None = None) -> list[Check]:
    """The assert, error and wait operations of the Test(s) named ``test_name`` in ``test_file``
    (all of them when None), followed through step templates with their bindings."""
    walk = _ChainsawWalk(files, posixpath.dirname(test_file))
    tests = [doc for doc in files.docs(test_file) if _is_chainsaw(doc, "Test")]
    named = [doc for doc in tests if test_name is None or _meta_name(doc) == test_name]
    for doc in named or tests:  # a Test without a name is "test N" to the scanner
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        env = walk.bind({}, spec.get("bindings"))
        for step in spec.get("steps") or []:
            if isinstance(step, dict):
                walk.step(step, env, test_file, (test_file,))
    return walk.found


class _ChainsawWalk:
    def __init__(self, files: Files, folder: str) -> None:
        self.files = files
        self.folder = folder  # chainsaw resolves every file against the test's folder, templates' included
        self.found: list[Check] = []

    def bind(self, env: Mapping[str, object], bindings: object) -> dict[str, object]:
        out = dict(env)
        for item in bindings if isinstance(bindings, list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                value = item.get("value")
                out[item["name"]] = bound(value, out) if isinstance(value, str) else value
        return out

    def step(self, step: dict, env: Mapping[str, object], source: str, stack: tuple[str, ...]) -> None:
        env = self.bind(env, step.get("bindings"))
        use = step.get("use")
        if isinstance(use, dict) and isinstance(use.get("template"), str):
            given = use.get("with") if isinstance(use.get("with"), dict) else {}
            self.template(use["template"], env, given.get("bindings"), stack)
        for block in BLOCKS:
            for operation in step.get(block) or []:
                if isinstance(operation, dict):
                    self.operation(operation, env, source)

    def template(self, ref: str, env: Mapping[str, object], given: object, stack: tuple[str, ...]) -> None:
        path = resolve(self.folder, ref) if not ref.strip().startswith("(") else None
        if path is None or path in stack:
            return  # an expression, a path leaving the repository, or a cycle (the scan warns of those)
        for doc in self.files.docs(path):
            if _is_chainsaw(doc, "StepTemplate") and isinstance(doc.get("spec"), dict):
                spec = doc["spec"]
                defaults = self.bind(env, spec.get("bindings"))  # the template's own, overridden by the caller's
                self.step({k: v for k, v in spec.items() if k != "bindings"}, self.bind(defaults, given), path, (*stack, path))

    def operation(self, operation: dict, env: Mapping[str, object], source: str) -> None:
        script, command = operation.get("script"), operation.get("command")
        if isinstance(script, dict) and isinstance(script.get("content"), str):
            local = self.bind(env, script.get("bindings"))
            for check in script_checks(script["content"], source, self.variables(script.get("env"), local)):
                self.add(check)
        if isinstance(command, dict) and isinstance(command.get("entrypoint"), str):
            local = self.bind(env, command.get("bindings"))
            variables = self.variables(command.get("env"), local)
            args = command.get("args") if isinstance(command.get("args"), list) else []
            argv = [command["entrypoint"], *(str(a) for a in args if isinstance(a, (str, int)))]
            for check in command_checks([VARIABLE.sub(lambda m: variables.get(m[1] or m[2], m[0]), w) for w in argv], source):
                self.add(check)
        for key in CHECK_OPS:
            body = operation.get(key)
            if not isinstance(body, dict):
                continue
            local = self.bind(env, body.get("bindings"))
            gone = key == "error" or (key == "wait" and isinstance(body.get("for"), dict) and "deletion" in body["for"])
            if key == "wait":
                self.add(object_check(body, source, local, gone))
            elif isinstance(body.get("resource"), dict):
                self.add(object_check(body["resource"], source, local, gone))
            elif isinstance(body.get("file"), str):
                ref = bound(body["file"], local)  # ``file: ($file)`` names the file through a binding
                path = resolve(self.folder, ref) if ref and not ref.startswith("(") else None
                for doc in self.files.docs(path):
                    self.add(object_check(doc, path, local, gone))

    def variables(self, env: object, bindings: Mapping[str, object]) -> dict[str, str]:
        """A script's or command's ``env``: names to values, ``($binding)`` values bound."""
        out: dict[str, str] = {}
        for item in env if isinstance(env, list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str):
                value = bound(item["value"], bindings)
                if value is not None and not value.startswith("("):
                    out[item["name"]] = value
        return out

    def add(self, check: Check | None) -> None:
        if check is not None and check not in self.found:
            self.found.append(check)


def _is_chainsaw(doc: object, kind: str) -> bool:
    return isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith("chainsaw.kyverno.io/") and doc.get("kind") == kind


def _meta_name(doc: dict) -> str | None:
    meta = doc.get("metadata")
    return str(meta.get("name")) if isinstance(meta, dict) and meta.get("name") else None
