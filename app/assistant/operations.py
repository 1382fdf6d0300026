"""Chainsaw operations with the meaning of the legacy workflow's commands.

- a success condition (``kubectl wait --for=condition=Available deployment/x -n ns
  --timeout=300s``) becomes an ``assert`` of that resource in that namespace:
  ``condition=X[=V]`` the condition ``X`` with status ``V`` (``True`` when not
  said), ``jsonpath='{.a.b}'=V`` the field ``a.b`` equal to ``V`` (compared as
  text, as kubectl does); a JSONPath with filters or indexes becomes chainsaw's
  ``wait`` with the same ``jsonPath``, ``delete`` a ``wait`` for the deletion.
  When neither the module's manifests nor Kubernetes itself say the kind's
  apiVersion, the very ``kubectl wait`` is kept as a ``script``.
- a reconcile item becomes ``flux reconcile KIND NAME -n NAMESPACE --with-source``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

from app.assistant.conditions import Condition, ReconcileItem
from app.assistant.kinds import Kind, Kinds

NUMBER_OR_BOOL = re.compile(r"^(-?\d+(\.\d+)?|true|false)$", re.IGNORECASE)
STATUSES = {"true": "True", "false": "False", "unknown": "Unknown"}


def condition_operation(condition: Condition, kinds: Kinds) -> tuple[dict, str | None]:
    """The operation checking ``condition``, and a note for the reviewer when it could not be an assertion."""
    kind = kinds.find(condition.kind, condition.group)
    wait = condition.wait
    if kind is None:
        note = f"{condition.resource}: no manifest of the module says its apiVersion; kept as kubectl wait"
        return {"script": _timed({"content": kubectl_wait(condition)}, condition.timeout)}, note
    if wait.how == "condition":
        status = STATUSES.get((wait.value or "true").lower(), wait.value)
        check = {f"(conditions[?type == '{condition_type(wait.subject)}'])": [{"status": status}]}
        return {"assert": _timed({"resource": _object(kind, condition, {"status": check})}, condition.timeout)}, None
    if wait.how == "jsonpath" and wait.value is not None:
        fields = wait.simple_path()
        if fields:
            resource = _object(kind, condition, _nested(fields, wait.value))
            return {"assert": _timed({"resource": resource}, condition.timeout)}, None
        body = {**_reference(kind, condition), "for": {"jsonPath": {"path": wait.subject, "value": wait.value}}}
        return {"wait": _timed(body, condition.timeout)}, None
    if wait.how == "delete":
        return {"wait": _timed({**_reference(kind, condition), "for": {"deletion": {}}}, condition.timeout)}, None
    note = f"{condition.resource}: --for={wait.text} has no chainsaw counterpart; kept as kubectl wait"
    return {"script": _timed({"content": kubectl_wait(condition)}, condition.timeout)}, note


def condition_type(written: str, known: Iterable[str] = ()) -> str:
    """kubectl compares condition types case-insensitively, a chainsaw assertion does not: the
    type as ``known`` spells it (the shared assertions' types), else with a capital, as Kubernetes
    and Flux spell theirs (``available`` -> ``Available``)."""
    spelled = {k.lower(): k for k in known}
    return spelled.get(written.lower(), written[:1].upper() + written[1:])


def kubectl_wait(condition: Condition) -> str:
    words = ["kubectl", "wait", f"--for={_unquoted(condition.wait.text)}", condition.resource]
    if condition.namespace:
        words += ["-n", condition.namespace]
    if condition.timeout:
        words.append(f"--timeout={condition.timeout}")
    return shlex.join(words)


def _unquoted(text: str) -> str:
    """``--for`` as kubectl got it once the legacy workflow's shell had read it, its quotes gone:
    ``jsonpath='{.status.phase}'=Running`` as ``jsonpath={.status.phase}=Running``. Quoted again
    as written, kubectl would get the quotes and refuse the JSONPath."""
    try:
        words = shlex.split(text)
    except ValueError:  # an unclosed quote: the shell would have refused it too; kept for the reviewer
        return text
    return words[0] if len(words) == 1 else text


def reconcile_operation(item: ReconcileItem) -> dict:
    words = ["flux", "reconcile", item.kind, item.name, "-n", item.namespace, "--with-source"]
    if item.timeout:
        words.append(f"--timeout={item.timeout}")
    return {"script": _timed({"content": shlex.join(words)}, item.timeout)}


def ready_assertion(kind: Kind, name: str, namespace: str, timeout: str | None) -> dict:
    """A Flux object's Ready condition, as ``flux reconcile`` waits for it."""
    meta = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": {"name": name, "namespace": namespace}}
    status = {"status": {"(conditions[?type == 'Ready'])": [{"status": "True"}]}}
    return {"assert": _timed({"resource": {**meta, **status}}, timeout)}


def _object(kind: Kind, condition: Condition, body: dict) -> dict:
    """The resource with ``body``; a check on ``metadata`` (a label) keeps its name and namespace."""
    rest = dict(body)
    meta = {**_metadata(condition), **rest.pop("metadata", {})}
    return {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": meta, **rest}


def _reference(kind: Kind, condition: Condition) -> dict:
    return {"apiVersion": kind.api_version, "kind": kind.kind, **_metadata(condition)}


def _metadata(condition: Condition) -> dict:
    meta = {"name": condition.name}
    if condition.namespace:
        meta["namespace"] = condition.namespace
    return meta


def _nested(fields: list[str], value: str) -> dict:
    """``status.phase`` = ``Running`` as ``{status: {phase: Running}}``; a value that YAML would
    read as a number or a boolean is compared as text, as kubectl compares it."""
    *parents, last = fields
    leaf: dict = {f"(to_string({last}))": value} if NUMBER_OR_BOOL.match(value) else {last: value}
    for name in reversed(parents):
        leaf = {name: leaf}
    return leaf


def _timed(body: dict, timeout: str | None) -> dict:
    return {**body, "timeout": timeout} if timeout else body
