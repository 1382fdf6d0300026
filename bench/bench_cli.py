"""The command line, whole processes: ``sawmill --help`` and ``sawmill scan`` against floors.

``--help`` is held to ``python -c "import typer"``: what any Typer command pays
before it does anything. ``sawmill scan`` of the seed repository (its database
already at head, as on every run but the first) is held to the least a scan
process must do: list the tree, read the test and workflow YAML through one
``git cat-file --batch`` and parse it with CSafeLoader, in a fresh interpreter.
Beside it is printed what importing the chosen stack alone takes (Typer,
SQLModel, GitPython, PyYAML, pydantic-settings), before any of Sawmill's code, and
the least of it any command that reads its settings pays: Typer and pydantic-settings.
"""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import app
from app.repobuilder.gitops import build_seed_repo
from bench.common import Result, turn_about

# What every store command imports before it does anything: the chosen stack, none of Sawmill's code.
STACK = "import typer, sqlmodel, git, yaml, pydantic_settings"
# The least of it: a Typer command that reads one pydantic-settings Settings object, with no store and no git.
LEAST = "import typer, pydantic_settings"

# The floor as a script of its own: no import of the app, nothing but the work.
FLOOR = r"""
import subprocess, sys, yaml
repo = sys.argv[1]
listing = subprocess.run(["git", "ls-tree", "-r", "-z", "HEAD"], cwd=repo, capture_output=True, check=True).stdout
modules = ("infrastructure/subsystems/", "apps/subsystems/", "components/")
shas = []
for entry in listing.decode().split("\0"):
    if entry:
        meta, path = entry.split("\t", 1)
        if path.endswith((".yaml", ".yml")) and not path.startswith(modules):
            shas.append(meta.split()[2])
data = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, input="".join(s + "\n" for s in shas).encode(),
                      capture_output=True, check=True).stdout
pos = 0
for _ in shas:
    end = data.index(b"\n", pos)
    size = int(data[pos:end].split()[2])
    list(yaml.load_all(data[end + 1:end + 1 + size], Loader=yaml.CSafeLoader))
    pos = end + 2 + size
"""


def sawmill() -> list[str]:
    installed = Path(sys.executable).parent / "sawmill"
    return [str(installed)] if installed.exists() else [sys.executable, "-c", "from app.cli import main; main()"]


def run_quietly(argv: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def run() -> list[Result]:
    # The app's bytecode, as an installed wheel has it and any interpreter writes on its first run; where
    # PYTHONDONTWRITEBYTECODE is set, every process below would compile the app's sources again.
    compileall.compile_dir(Path(app.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="sawmill-bench-cli-") as tmp:
        repo = build_seed_repo(Path(tmp) / "seed")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAWMILL_")}
        env |= {"SAWMILL_DATA_DIR": str(Path(tmp) / "data")}
        scan = [*sawmill(), "scan", str(repo)]
        run_quietly(scan, env)  # the first run migrates the new database: not what people wait for each time
        typer_base, help_took = turn_about(
            lambda: run_quietly([sys.executable, "-c", "import typer"]), lambda: run_quietly([*sawmill(), "--help"])
        )
        floor_base, scan_took = turn_about(
            lambda: run_quietly([sys.executable, "-c", FLOOR, str(repo)]), lambda: run_quietly(scan, env)
        )
        stack_took, least_took = turn_about(
            lambda: run_quietly([sys.executable, "-c", STACK]), lambda: run_quietly([sys.executable, "-c", LEAST])
        )
    return [
        Result(
            "sawmill --help vs python -c 'import typer'",
            help_took / typer_base,
            goal=3.0,
            detail=f"help {help_took * 1000:.0f} ms, import typer {typer_base * 1000:.0f} ms",
        ),
        Result(
            "sawmill scan (seed, whole process) vs floor process",
            scan_took / floor_base,
            goal=3.0,
            detail=f"scan {scan_took * 1000:.0f} ms, floor {floor_base * 1000:.0f} ms "
            "(ls-tree + one cat-file --batch + CSafeLoader in a fresh interpreter); "
            f"importing the stack alone ({STACK.removeprefix('import ')}) takes {stack_took * 1000:.0f} ms, "
            f"{stack_took / floor_base:.1f}x the floor; Typer and pydantic-settings alone {least_took * 1000:.0f} ms, "
            f"{least_took / floor_base:.1f}x",
        ),
    ]
