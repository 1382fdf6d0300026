"""A legacy workflow's inputs, read: ``reconcile_items`` and ``success_conditions``.

The reusable workflow the legacy suites call runs ``flux reconcile`` for each
reconcile item and ``kubectl wait --for=... RESOURCE -n NAMESPACE --timeout=...``
for each success condition. Here they become plain values the draft turns
into chainsaw operations with the same meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.assistant.checks import kind_key
from app.scanner.snapshot import resolve
from app.scanner.yamlload import entries, mappings

VERSION = re.compile(r"^v\d+((alpha|beta)\d+)?$")
SIMPLE_PATH = re.compile(r"^\{?\.?([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\}?$")


@dataclass(frozen=True)
class WaitFor:
    """kubectl wait's ``--for``: ``condition=Ready``, ``condition=Ready=false``,
    ``jsonpath='{.status.phase}'=Running``, ``delete``; anything else is ``other``."""

    how: str  # "condition", "jsonpath", "delete" or "other"
    subject: str = ""  # the condition's type, or the JSONPath
    value: str | None = None  # the wanted status or value
    text: str = ""  # as written

    @classmethod
    def parse(cls, text: str) -> WaitFor:
        text = text.strip()
        how, _, rest = text.partition("=")
        if how == "condition" and rest:
            name, _, value = rest.partition("=")
            return cls("condition", name, value or None, text)
        if how == "jsonpath" and rest:
            path, value = _split_jsonpath(rest)
            return cls("jsonpath", path, value, text)
        if text == "delete":
            return cls("delete", text=text)
        return cls("other", text=text)

    def simple_path(self) -> list[str] | None:
        """The fields of a plain ``{.a.b.c}`` path; None for filters, indexes and wildcards."""
        match = SIMPLE_PATH.match(self.subject)
        return match[1].split(".") if match else None


@dataclass(frozen=True)
class Condition:
    """One success condition: a resource (``kind[.group]/name``) in a namespace, and what to wait for."""

    kind: str  # as written: "deployment", "cluster", "hr"
    group: str | None
    name: str
    namespace: str | None
    wait: WaitFor
    timeout: str | None
    resource: str  # the resource as written, for kubectl

    @property
    def key(self) -> str:
        return kind_key(self.kind)


@dataclass(frozen=True)
class ReconcileItem:
    kind: str  # "kustomization" unless the item says otherwise
    name: str
    namespace: str
    timeout: str | None


@dataclass
class SuiteInputs:
    workflow: str
    reconcile: list[ReconcileItem]
    conditions: list[Condition]
    unread: list[str]  # entries that could not be read, as written


def suite_inputs(docs: tuple, workflow: str, suite: str) -> SuiteInputs | None:
    """What ``workflow`` passes along with ``test_path: suite``; None when it does not run that suite."""
    for node in mappings(list(docs)):
        test_path = node.get("test_path")
        if isinstance(test_path, str) and resolve("", test_path.strip()) == suite:
            inputs = SuiteInputs(workflow, [], [], [])
            for entry in entries(node.get("reconcile_items")):
                item = reconcile_item(entry)
                inputs.reconcile.append(item) if item else inputs.unread.append(repr(entry))
            for entry in entries(node.get("success_conditions")):
                condition = parse_condition(entry)
                inputs.conditions.append(condition) if condition else inputs.unread.append(repr(entry))
            return inputs
    return None


def reconcile_item(entry: object) -> ReconcileItem | None:
    """``{name, namespace, kind?, timeout?}``, or ``kustomization/name`` as a string."""
    if isinstance(entry, str):
        kind, _, name = entry.strip().rpartition("/")
        return ReconcileItem(kind or "kustomization", name, "flux-system", None) if name else None
    if not isinstance(entry, dict) or not entry.get("name"):
        return None
    kind = str(entry.get("kind") or "kustomization").lower()
    timeout = entry.get("timeout")
    return ReconcileItem(kind, str(entry["name"]), str(entry.get("namespace") or "flux-system"), _duration(timeout))


def parse_condition(entry: object) -> Condition | None:
    """``{resource: kind[.group]/name, namespace, for, timeout}`` (or ``kind`` and ``name`` apart)."""
    if not isinstance(entry, dict):
        return None
    resource = str(entry.get("resource") or "").strip()
    if "/" not in resource and entry.get("kind") and entry.get("name"):
        resource = f"{entry['kind']}/{entry['name']}"
    kind, _, name = resource.partition("/")
    if not kind or not name:
        return None
    kind, _, group = kind.partition(".")
    parts = group.split(".") if group else []
    if parts and VERSION.match(parts[0]):  # deployment.v1.apps
        parts = parts[1:]
    wait = WaitFor.parse(str(entry.get("for") or entry.get("condition") or "condition=Ready"))
    namespace = entry.get("namespace")
    return Condition(kind, ".".join(parts) or None, name, _text(namespace), wait, _duration(entry.get("timeout")), resource)


def _split_jsonpath(rest: str) -> tuple[str, str | None]:
    """``'{.status.phase}'=Running`` -> (``{.status.phase}``, ``Running``)."""
    rest = rest.strip()
    if rest[:1] in "'\"":
        quote = rest[0]
        end = rest.find(quote, 1)
        if end > 0:
            value = rest[end + 1 :].removeprefix("=")
            return rest[1:end], value if rest[end + 1 :].startswith("=") else None
    end = rest.rfind("}")
    if end >= 0 and rest[end + 1 :].startswith("="):
        return rest[: end + 1], rest[end + 2 :]
    return rest, None


def _text(value: object) -> str | None:
    return str(value).strip() if value not in (None, "") else None


def _duration(value: object) -> str | None:
    """A timeout as chainsaw reads it: a bare number (``300``) is seconds, as ``300s``."""
    text = _text(value)
    return f"{text}s" if text and text.isdigit() else text
