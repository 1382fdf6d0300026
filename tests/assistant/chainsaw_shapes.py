"""The shapes chainsaw accepts for Test and StepTemplate documents, checked field by field.

Written from kyverno/chainsaw's API types (pkg/apis/v1alpha1: step.go's
TestStep/StepTemplateSpec with ``use: {template, with: {bindings}}``,
operation.go's one-of operations, catch_finally.go, action.go's operation
bodies, binding.go) and its JSON schemas' ``additionalProperties: false``:
an unknown key, a missing required one, or two operations in one entry is a
problem. ``problems(doc)`` lists them; empty means chainsaw would load it.
"""

from __future__ import annotations

import re

DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
COMMON = {"bindings", "cluster", "clusters", "timeout"}
RESOURCE_REF = COMMON | {"file", "resource", "template", "dryRun", "expect", "outputs"}
CHECK_REF = COMMON | {"file", "resource", "template"}
OBJECT = {"apiVersion", "kind", "name", "namespace", "selector"}
BODIES: dict[str, set[str]] = {
    "apply": RESOURCE_REF,
    "create": RESOURCE_REF,
    "update": RESOURCE_REF,
    "patch": RESOURCE_REF,
    "assert": CHECK_REF,
    "error": CHECK_REF,
    "delete": COMMON | {"template", "file", "ref", "deletionPropagationPolicy", "expect"},
    "script": COMMON | {"check", "env", "skipLogOutput", "outputs", "content", "workDir"},
    "command": COMMON | {"check", "env", "skipLogOutput", "outputs", "entrypoint", "args", "workDir"},
    "wait": {"timeout", "cluster", "clusters", "format", "for", *OBJECT},
    "events": {"timeout", "cluster", "clusters", "format", "name", "namespace", "selector"},
    "podLogs": {"timeout", "cluster", "clusters", "name", "namespace", "selector", "container", "tail"},
    "describe": {"timeout", "cluster", "clusters", "showEvents", *OBJECT},
    "get": {"timeout", "cluster", "clusters", "format", *OBJECT},
    "sleep": {"duration"},
}
TRY_OPS = set(BODIES)
CATCH_OPS = {"podLogs", "events", "describe", "wait", "get", "delete", "command", "script", "sleep"}
STEP_SPEC = {"description", "timeouts", "deletionPropagationPolicy", "cluster", "clusters", "skipDelete", "template", "bindings", "try", "catch", "finally", "cleanup"}
TIMEOUTS = {"apply", "assert", "cleanup", "delete", "error", "exec"}
TEST_SPEC = {"description", "timeouts", "cluster", "clusters", "skip", "concurrent", "skipDelete", "template", "namespace", "namespaceTemplate", "bindings", "steps", "catch", "scenarios", "failFast", "forceTerminationGracePeriod", "delayBeforeCleanup", "deletionPropagationPolicy"}
TOP = {"apiVersion", "kind", "metadata", "spec"}


def problems(doc: object) -> list[str]:
    """What keeps ``doc`` from being a chainsaw v1alpha1 Test or StepTemplate."""
    out: list[str] = []
    if not isinstance(doc, dict):
        return ["not a mapping"]
    if doc.get("apiVersion") != "chainsaw.kyverno.io/v1alpha1":
        out.append(f"apiVersion {doc.get('apiVersion')!r}")
    _keys(doc, TOP, "document", out)
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return [*out, "spec is required"]
    if doc.get("kind") == "Test":
        _test(spec, out)
    elif doc.get("kind") == "StepTemplate":
        _keys(spec, {"bindings", "try", "catch", "finally", "cleanup"}, "spec", out)
        _step_body(spec, "spec", out, need_try=True)
    else:
        out.append(f"kind {doc.get('kind')!r}")
    return out


def _test(spec: dict, out: list[str]) -> None:
    _keys(spec, TEST_SPEC, "spec", out)
    _timeouts(spec.get("timeouts"), "spec", out)
    steps = spec.get("steps")
    if not isinstance(steps, list) or not steps:
        out.append("spec.steps must hold at least one step")
        return
    for index, step in enumerate(steps):
        where = f"steps[{index}]"
        if not isinstance(step, dict):
            out.append(f"{where} is not a mapping")
            continue
        _keys(step, STEP_SPEC | {"name", "use"}, where, out)
        use = step.get("use")
        if use is not None:
            if not isinstance(use, dict) or not isinstance(use.get("template"), str):
                out.append(f"{where}.use needs template")
                continue
            _keys(use, {"template", "with"}, f"{where}.use", out)
            _keys(use.get("with") or {}, {"bindings"}, f"{where}.use.with", out)
            _bindings((use.get("with") or {}).get("bindings"), f"{where}.use.with", out)
            if any(k in step for k in ("try", "catch", "finally", "cleanup")):
                out.append(f"{where}: a step that uses a template has no operations of its own")
        else:
            _step_body(step, where, out, need_try=True)
        _timeouts(step.get("timeouts"), where, out)


def _step_body(step: dict, where: str, out: list[str], need_try: bool) -> None:
    _bindings(step.get("bindings"), where, out)
    operations = step.get("try")
    if need_try and (not isinstance(operations, list) or not operations):
        out.append(f"{where}.try must hold at least one operation")
    for index, operation in enumerate(operations or []):
        _operation(operation, TRY_OPS | {"description", "continueOnError"}, TRY_OPS, f"{where}.try[{index}]", out)
    for block in ("catch", "finally", "cleanup"):
        for index, operation in enumerate(step.get(block) or []):
            _operation(operation, CATCH_OPS | {"description"}, CATCH_OPS, f"{where}.{block}[{index}]", out)


def _operation(operation: object, allowed: set[str], kinds: set[str], where: str, out: list[str]) -> None:
    if not isinstance(operation, dict):
        out.append(f"{where} is not a mapping")
        return
    _keys(operation, allowed, where, out)
    chosen = [k for k in operation if k in kinds]
    if len(chosen) != 1:
        out.append(f"{where} must hold exactly one operation, has {chosen}")
        return
    name = chosen[0]
    body = operation[name]
    if not isinstance(body, dict):
        out.append(f"{where}.{name} is not a mapping")
        return
    _keys(body, BODIES[name], f"{where}.{name}", out)
    _bindings(body.get("bindings"), f"{where}.{name}", out)
    for key in ("timeout", "duration"):
        if key in body and not DURATION.match(str(body[key])):
            out.append(f"{where}.{name}.{key} {body[key]!r} is not a duration")
    if name in ("apply", "create", "update", "patch", "assert", "error") and ("file" in body) == ("resource" in body):
        out.append(f"{where}.{name} needs a file or a resource, not both")
    if "resource" in body and not (isinstance(body["resource"], dict) and body["resource"].get("apiVersion") and body["resource"].get("kind")):
        out.append(f"{where}.{name}.resource needs apiVersion and kind")
    if name == "command" and not body.get("entrypoint"):
        out.append(f"{where}.command needs an entrypoint")
    if name == "wait":
        _wait(body, f"{where}.wait", out)
    if name == "delete" and "ref" in body:
        _keys(body["ref"], {"apiVersion", "kind", "name", "namespace", "labels"}, f"{where}.delete.ref", out)


def _wait(body: dict, where: str, out: list[str]) -> None:
    if not body.get("apiVersion") or not body.get("kind"):
        out.append(f"{where} needs apiVersion and kind")
    wanted = body.get("for")
    if not isinstance(wanted, dict) or len(wanted) != 1 or next(iter(wanted)) not in ("condition", "jsonPath", "deletion"):
        out.append(f"{where}.for needs one of condition, jsonPath, deletion")
    elif "jsonPath" in wanted and not {"path", "value"} <= set(wanted["jsonPath"]):
        out.append(f"{where}.for.jsonPath needs path and value")


def _bindings(bindings: object, where: str, out: list[str]) -> None:
    if bindings is None:
        return
    if not isinstance(bindings, list):
        out.append(f"{where}.bindings is not a list")
        return
    for index, binding in enumerate(bindings):
        if not isinstance(binding, dict) or not isinstance(binding.get("name"), str) or "value" not in binding:
            out.append(f"{where}.bindings[{index}] needs name and value")
        else:
            _keys(binding, {"name", "value", "compiler"}, f"{where}.bindings[{index}]", out)


def _timeouts(timeouts: object, where: str, out: list[str]) -> None:
    if timeouts is None:
        return
    if not isinstance(timeouts, dict):
        out.append(f"{where}.timeouts is not a mapping")
        return
    _keys(timeouts, TIMEOUTS, f"{where}.timeouts", out)
    out += [f"{where}.timeouts.{k} {v!r} is not a duration" for k, v in timeouts.items() if not DURATION.match(str(v))]


def _keys(value: object, allowed: set[str], where: str, out: list[str]) -> None:
    if isinstance(value, dict):
        out += [f"{where}: unknown field {key!r}" for key in value if key not in allowed]
