"""Ingesting a chainsaw report: a 5 MiB JUnit report of 2,000 test cases, stored and tied to modules.

A GitOps repository built with the repository builder (40 chainsaw suites)
is scanned into a temp SQLite database. Each round times, turn about:

- the floor: ``xml.etree.ElementTree.fromstring`` of the report, nothing else;
- ``ingest_report`` in its own session, committed: size check, content hash,
  safe XML parse, JUnit shape, the scan of the commit and its test index,
  2,000 tests matched to modules, the tests and their module links inserted.

Every round sends a report of its own (the suite name differs), so none is
answered as a duplicate. Goal: at most 3x the floor, best round of each.
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, GitOps
from app.services.reports import Upload, ingest_report
from app.services.scan import scan_and_store
from app.store.db import migrate, session_scope
from bench.common import Result, turn_about

SUITES = 40
CASES = 2_000
TARGET = 5 * 2**20
GOAL = 3.0


def build(folder: Path) -> tuple[Path, str]:
    path = folder / "platform"
    with RepoBuilder(path) as builder:
        repo = GitOps(builder)
        for n in range(SUITES):
            module = f"{INFRA}/module-{n:02d}"
            repo.add_module(module)
            repo.add_chainsaw_suite(f"suite-{n:02d}", [module], prerequisites=False)
        commit = repo.commit("feat: forty chainsaw suites")
    return path, commit.sha


def report(run: int) -> bytes:
    """A JUNIT-TEST report as chainsaw writes it: a suite per folder, a case per test, about 5 MiB."""
    per_case = TARGET // CASES
    failure = "v1/Deployment/app/app: .status.readyReplicas: Invalid value: 0: Expected value: 1; " * (per_case // 90)
    suites = []
    for n in range(SUITES):
        cases = []
        for c in range(CASES // SUITES):
            head = f'    <testcase name="suite-{n:02d}-case-{c:03d}" classname="suite-{n:02d}-case-{c:03d}" time="12.500000">'
            body = f'\n      <failure message="{failure}"></failure>\n    </testcase>' if c % 7 == 0 else "</testcase>"
            if c % 7 != 0:
                head = head.replace('time="12.500000">', f'time="12.500000">\n      <system-out>{failure}</system-out>\n    ')
            cases.append(head + body)
        failures = sum(1 for c in range(CASES // SUITES) if c % 7 == 0)
        suites.append(f'  <testsuite name="ci/test/suite-{n:02d}" tests="{CASES // SUITES}" failures="{failures}" errors="0" id="0" time="">\n'
                      + "\n".join(cases) + "\n  </testsuite>")  # fmt: skip
    failed = SUITES * sum(1 for c in range(CASES // SUITES) if c % 7 == 0)
    return (f'<testsuites name="bench-{run}" time="600.000000" tests="{CASES}" failures="{failed}" skipped="0">\n'
            + "\n".join(suites) + "\n</testsuites>").encode()  # fmt: skip


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="sawmill-bench-reports-") as tmp:
        folder = Path(tmp)
        repo, commit = build(folder)
        url = f"sqlite:///{folder / 'sawmill.db'}"
        migrate(url)
        scan_and_store(url, repo)
        key = str(repo.resolve())
        data = report(0)
        size = len(data)
        # each round's own bytes, made before the clock starts: never a duplicate
        bodies = iter([data.replace(b'name="bench-0"', f'name="bench-{n}"'.encode(), 1) for n in range(1, 10)])

        def parse() -> None:
            ElementTree.fromstring(data)

        def ingest() -> None:
            with session_scope(url, key) as session:
                done = ingest_report(session, next(bodies), Upload(commit=commit), git_dir=repo)
            assert done.created and not done.unmatched, done

        floor, taken = turn_about(parse, ingest, repeat=7)
    return [Result("ingest a 5 MiB JUnit report (2,000 cases)", taken / floor, GOAL,
                   detail=f"{taken * 1000:.0f} ms vs xml.etree {floor * 1000:.0f} ms, {size / 2**20:.1f} MiB")]  # fmt: skip
