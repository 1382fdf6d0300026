"""The checks read out of chainsaw scripts: what kubectl waits for, and nothing from lines that cannot be one."""

from __future__ import annotations

from app.assistant.checks import MAX_COMMAND, script_checks


def labels(content: str, variables: dict[str, str] | None = None) -> list[str]:
    return [c.label() for c in script_checks(content, "t.yaml", variables or {})]


def test_waits_and_rollouts_are_read_with_their_namespace_and_variables() -> None:
    script = ("set -e\nkubectl wait --for=condition=Ready helmrelease/traefik -n $NS \\\n  --timeout=5m\n"
              "timeout 60 kubectl -n db rollout status deploy/cnpg && echo ok\n"
              "kubectl wait --for=delete pod/crashed -n db\nkubectl get pods -A\n")  # fmt: skip
    assert labels(script, {"NS": "traefik"}) == ["helmrelease/traefik -n traefik", "deploy/cnpg -n db", "no pod/crashed -n db"]


def test_a_line_that_cannot_be_a_command_is_passed_over() -> None:
    hostile = "kubectl wait '" + "a" * 1_000_000  # an unclosed quote a megabyte long: shlex would take minutes
    long_line = "kubectl wait deploy/x -n y # " + "z" * MAX_COMMAND
    assert labels(f"{hostile}\n{long_line}\nkubectl wait deploy/kept -n y\n") == ["deploy/kept -n y"]
    assert labels("kubectl wait pod/$UNKNOWN -n x") == []  # a name still holding a variable names nothing
