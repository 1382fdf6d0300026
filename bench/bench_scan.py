"""HEAD scan of a synthetic ~1,000-file GitOps repository against a floor.

The floor is the least any scanner must do: list the tree, read the YAML
blobs outside the modules (tests, workflows, cluster manifests) through ONE
``git cat-file --batch`` process, and parse each with PyYAML's CSafeLoader.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import yaml

from app.repobuilder.gitops import build_synthetic_repo
from app.scanner import scan
from app.scanner.config import DEFAULT_COMPONENT_ROOTS, DEFAULT_MODULE_ROOTS, glob_match
from bench.common import Result, turn_about

YAML = re.compile(r"\.ya?ml$")


def relevant_blobs(repo: Path) -> list[str]:
    out = subprocess.run(["git", "ls-tree", "-r", "-z", "HEAD"], cwd=repo, capture_output=True, check=True).stdout
    shas = []
    for entry in out.decode().split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        if YAML.search(path) and not _in_module(path):
            shas.append(meta.split()[2])
    return shas


def _in_module(path: str) -> bool:
    folder = path
    while "/" in folder:
        folder = folder.rpartition("/")[0]
        if any(glob_match(root, folder) for root in (*DEFAULT_MODULE_ROOTS, *DEFAULT_COMPONENT_ROOTS)):
            return True
    return False


def floor(repo: Path) -> int:
    shas = relevant_blobs(repo)
    requests = "".join(f"{sha}\n" for sha in shas).encode()
    proc = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, input=requests, capture_output=True, check=True)
    data, pos, docs = proc.stdout, 0, 0
    for _ in shas:
        header_end = data.index(b"\n", pos)
        size = int(data[pos:header_end].split()[2])
        body = data[header_end + 1 : header_end + 1 + size]
        pos = header_end + 2 + size
        docs += len(list(yaml.load_all(body, Loader=yaml.CSafeLoader)))
    return docs


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="sawmill-bench-scan-") as tmp:
        repo = build_synthetic_repo(Path(tmp) / "synthetic.git")
        listing = ["git", "ls-tree", "-r", "--name-only", "HEAD"]
        files = subprocess.run(listing, cwd=repo, capture_output=True, check=True, text=True).stdout.count("\n")
        blobs = len(relevant_blobs(repo))
        base, took = turn_about(lambda: floor(repo), lambda: scan(repo))
    return [
        Result(
            "scan HEAD vs floor",
            took / base,
            goal=2.0,
            detail=f"scan {took * 1000:.1f} ms, floor {base * 1000:.1f} ms ({blobs} of {files} blobs read and parsed)",
        )
    ]
