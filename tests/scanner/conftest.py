"""Real repositories for the scanner tests, built in tmp through the repo builder."""

from __future__ import annotations

import itertools
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, dump, flux_kustomization
from app.scanner import scan
from app.scanner.model import Module, ScanResult

MakeRepo = Callable[..., Path]
MiB = 1024 * 1024


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """``make_repo(files, symlinks={}, bare=False)``: one commit holding ``files``."""
    counter = itertools.count()

    def make(files: dict[str, str | bytes], *, symlinks: dict[str, str] | None = None, bare: bool = False) -> Path:
        path = tmp_path / f"repo{next(counter)}"
        with RepoBuilder(path, bare=bare) as builder:
            builder.write_many(files)
            for link, target in (symlinks or {}).items():
                builder.symlink(link, target)
            builder.commit("init")
        return path

    return make


def module(name: str, root: str = INFRA) -> dict[str, str]:
    """A module folder with its own kustomization (content, not a test)."""
    return {f"{root}/{name}/kustomization.yaml": dump({"resources": ["./app"]}), f"{root}/{name}/app/x.yaml": "a: 1\n"}


def flux(name: str, target: str) -> str:
    return flux_kustomization(name, target)


def chainsaw(*steps: dict, name: str = "t", api: str = "v1alpha1") -> str:
    return dump({"apiVersion": f"chainsaw.kyverno.io/{api}", "kind": "Test", "metadata": {"name": name}, "spec": {"steps": list(steps)}})


def template(*operations: dict, name: str = "tpl", **spec: object) -> str:
    return dump(
        {
            "apiVersion": "chainsaw.kyverno.io/v1alpha1",
            "kind": "StepTemplate",
            "metadata": {"name": name},
            "spec": {"try": list(operations), **spec},
        }
    )


def by_name(result: ScanResult) -> dict[str, Module]:
    return {m.name: m for m in [*result.modules, *result.components]}


def statuses(path: Path, **kwargs: object) -> dict[str, str]:
    return {name: str(m.status) for name, m in by_name(scan(path, **kwargs)).items()}


def reasons(result: ScanResult) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for warning in result.warnings:
        out.setdefault(warning.path, []).append(warning.reason)
    return out


class StillRunning(BaseException):
    """Raised by ``within``: a BaseException, so no ``except OSError`` or ``except Exception`` swallows it."""


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging) when the block runs longer than ``seconds``: for cases that used to hang."""

    def expired(_signum, _frame):
        raise StillRunning(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def alias_bomb(levels: int = 10, width: int = 9) -> str:
    """The billion laughs: ``a: &a [lol x9]``, ``b: &b [*a x9]`` ... (9^10 nodes at ten levels)."""
    names = "abcdefghijklmnopqrstuvwxyz"[:levels]
    lines = [f"{names[0]}: &{names[0]} [{', '.join(['lol'] * width)}]"]
    lines += [f"{name}: &{name} [{', '.join([f'*{prev}'] * width)}]" for prev, name in zip(names, names[1:])]
    return "\n".join(lines) + "\n"


def add_big_blob(repo: Path, path: str, size: int, *, keep: bool = False) -> str:
    """Commit a ``size``-byte blob at ``path`` on main (then delete it, unless ``keep``) and
    return its sha. The blob is streamed into ``git fast-import`` a MiB at a time and stored
    as it comes (``--big-file-threshold``): neither this process nor git holds it whole."""
    chunk = b"# " + b"x" * (MiB - 3) + b"\n"
    process = subprocess.Popen(["git", "fast-import", "--quiet", "--big-file-threshold=1m"], cwd=repo, stdin=subprocess.PIPE)
    assert process.stdin is not None
    write = process.stdin.write
    write(f"blob\nmark :1\ndata {size}\n".encode())
    for start in range(0, size, MiB):
        write(chunk[: min(MiB, size - start)])
    write(b"\n" + _commit(2, "add", "refs/heads/main^0", f"M 100644 :1 {path}"))
    if not keep:
        write(_commit(3, "remove", ":2", f"D {path}"))
    process.stdin.close()
    assert process.wait() == 0
    return subprocess.run(["git", "rev-parse", f"main{'' if keep else '~1'}:{path}"], cwd=repo,
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip


def drop_blob(repo: Path, path: str) -> str:
    """Delete the blob of ``path`` (at HEAD) from the repository's objects, as a damaged disk
    or a careless hand would, and return its sha: every pack is made loose objects first."""
    objects = Path(git_dir(repo)) / "objects"
    for pack in sorted((objects / "pack").glob("*.pack")):
        data = pack.read_bytes()
        pack.unlink()
        pack.with_suffix(".idx").unlink()
        subprocess.run(["git", "unpack-objects", "-q"], cwd=repo, input=data, check=True)
    sha = subprocess.run(["git", "rev-parse", f"HEAD:{path}"], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
    (objects / sha[:2] / sha[2:]).unlink()
    return sha


def git_dir(repo: Path) -> str:
    return subprocess.run(["git", "rev-parse", "--absolute-git-dir"], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def _commit(mark: int, message: str, parent: str, change: str) -> bytes:
    return (
        f"commit refs/heads/main\nmark :{mark}\ncommitter Sam <sam@example.com> 1704103200 +0000\n"
        f"data {len(message)}\n{message}\nfrom {parent}\n{change}\n\n"
    ).encode()
