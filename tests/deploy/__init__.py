"""The deployment (Dockerfile, deploy/kubernetes, deploy/flux) checked against the app itself.

No container registry is reachable where the tests run, so the image is never built here.
Instead the Dockerfile is read by the small parser below, and what it says (the final stage's
ENV, CMD, HEALTHCHECK, USER, VOLUME) is run or checked against the code.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Image:
    """What the final stage of a Dockerfile gives the container (only what the tests need)."""

    env: dict[str, str] = field(default_factory=dict)
    cmd: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    user: str = ""
    workdir: str = "/"
    expose: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)


def instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs: comments dropped, continued lines joined."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue  # a comment, also between continued lines
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical = (pending + line).strip()
        pending = ""
        if logical:
            keyword, _, rest = logical.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return found


def exec_form(text: str, what: str) -> list[str]:
    """A JSON array (exec form); the shell form would put /bin/sh between Docker and Sawmill."""
    value = json.loads(text)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"{what} must be in exec form"
    return value


def env_pairs(text: str) -> dict[str, str]:
    pairs = {}
    for token in shlex.split(text):
        key, equals, value = token.partition("=")
        assert equals, f"ENV {token!r}: only the KEY=value form is read here"
        assert "$" not in value, f"ENV {key}: no substitutions, so the tests see what the container gets"
        pairs[key] = value
    return pairs


def read_image(path: Path = DOCKERFILE) -> Image:
    """The final stage of ``path``: ENV, CMD, ENTRYPOINT, HEALTHCHECK, USER, WORKDIR, EXPOSE, VOLUME."""
    image = Image()
    for keyword, rest in instructions(path.read_text(encoding="utf-8")):
        if keyword == "FROM":
            image = Image(stages=[*image.stages, rest])  # a new stage starts from nothing of the last one
        elif keyword == "ENV":
            image.env.update(env_pairs(rest))
        elif keyword == "CMD":
            image.cmd = exec_form(rest, "CMD")
        elif keyword == "ENTRYPOINT":
            image.entrypoint = exec_form(rest, "ENTRYPOINT")
        elif keyword == "HEALTHCHECK":
            options, marker, command = rest.partition("CMD ")
            assert marker and all(o.startswith("--") for o in options.split()), f"HEALTHCHECK {rest!r}"
            image.healthcheck = exec_form(command, "HEALTHCHECK CMD")
        elif keyword == "USER":
            image.user = rest
        elif keyword == "WORKDIR":
            image.workdir = rest
        elif keyword == "EXPOSE":
            image.expose += rest.split()
        elif keyword == "VOLUME":
            image.volumes += json.loads(rest) if rest.startswith("[") else rest.split()
    return image


def option(args: list[str], name: str) -> str:
    """The value given to ``name`` in an argument list (``--port 8000`` or ``--port=8000``)."""
    for index, arg in enumerate(args):
        if arg == name:
            return args[index + 1]
        if arg.startswith(f"{name}="):
            return arg.partition("=")[2]
    raise AssertionError(f"{name} is not given in {args}")
