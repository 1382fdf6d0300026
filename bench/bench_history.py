"""History backfill of a 3,000-commit GitOps repository against the floor issue 14 names.

That floor is one ``git log --raw`` stream with each test blob parsed once,
measured in turns with the backfill; the stricter ``git log --name-only``
(no pathspec, as the walk's own log; nothing parsed) is shown beside it, and
the stream alone is held to it. The incremental
rescan after one new commit has an absolute goal (0.2 s). A kyverno/policies-sized
tree (600 commits, about 6,000 files in policy folders holding their own tests,
read with a marker rule so every path is relevant) is held to the floor issue 14
names, one ``git log --raw`` stream with each test blob parsed once, and shown
against the stricter ``git log --name-only`` too.
"""

from __future__ import annotations

import posixpath
import random
import re
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import APPS, INFRA, GitOps, flux_kustomization
from app.scanner.config import ScanConfig
from app.scanner.history_log import iter_log
from app.scanner.history_scan import relevant_paths
from app.scanner.parse import SHARED
from app.store.db import migrate, session_scope
from app.services.history import update_history
from bench.common import Result, best_of, turn_about

COMMITS = 3000
SUITES = 20
PER_SUITE = 2
WORKLOADS = 6


def build_history_repo(
    path: Path, commits: int = COMMITS, seed: int = 7, suites: int = SUITES
) -> tuple[RepoBuilder, GitOps]:
    """A GitOps repository whose first-parent history has ``commits`` commits.

    Mostly what real ones hold: chart bumps inside modules (content only),
    some new files in modules, edits to tests, docs commits outside the
    relevant paths, and along the way every odd suite migrated, a module
    renamed, one removed and one born migrated. The builder is left open for
    more commits; the caller closes it.
    """
    rng = random.Random(seed)
    builder = RepoBuilder(path, bare=True)
    repo = GitOps(builder)
    clock = iter(datetime(2023, 1, 2, tzinfo=UTC) + timedelta(hours=6 * i) for i in range(10 * commits))
    workloads = tuple(f"w{i}" for i in range(WORKLOADS))
    names = []
    for s in range(suites):
        group, root = ("infra", INFRA) if s % 2 == 0 else ("apps", APPS)
        members = [f"{root}/s{s}-m{j}" for j in range(PER_SUITE)]
        for module in members:
            repo.add_module(module, workloads)
        repo.add_legacy_suite(f"{group}-s{s}", members)
        names.append(f"{group}-s{s}")
    repo.add_component("db-backups").add_component("sso")
    for i in range(10):
        builder.write(f"clusters/production/flux-{i}.yaml", flux_kustomization(f"cluster-{i}", f"{INFRA}/s{2 * i}-m0"))
    repo.commit("feat: the platform", date=next(clock))
    specials = _specials(commits, names)
    for n in range(1, commits):
        action = specials.get(n)
        if action:
            action(repo, next(clock), n)
            continue
        roll = rng.random()
        module = rng.choice(list(repo.modules))
        if roll < 0.80:
            builder.write(f"{module}/{rng.choice(workloads)}/helmrelease.yaml", f"kind: HelmRelease\nversion: 1.{n}.0\n")
            repo.commit(f"chore(deps): bump {module.rsplit('/', 1)[1]} to 1.{n}.0 (#{n})", date=next(clock))
        elif roll < 0.88:
            builder.write(f"{module}/{rng.choice(workloads)}/extra-{n}.yaml", f"kind: ConfigMap\nn: {n}\n")
            repo.commit(f"feat: more config for {module.rsplit('/', 1)[1]}", date=next(clock))
        elif roll < 0.94:
            builder.write(f"docs/notes-{n % 50}.md", f"note {n}\n")
            repo.commit("docs: notes", date=next(clock))
        else:
            suite = repo.suites[rng.choice(list(repo.suites))]
            builder.write(suite.manifest(suite.modules[0]), flux_kustomization(f"edit-{n}", suite.modules[0]))
            repo.commit(f"test: tune {suite.name}", date=next(clock))
    builder.flush()
    return builder, repo


def _specials(commits: int, suites: list[str]) -> dict[int, object]:
    out: dict[int, object] = {}
    odd = suites[1::2]
    for i, name in enumerate(odd):
        out[(i + 1) * commits // (len(odd) + 2)] = lambda r, d, n, s=name: r.migrate_suite(s, pr=n, date=d)
    out[commits // 3 + 1] = lambda r, d, n: r.rename_module(f"{INFRA}/s0-m0", f"{INFRA}/s0-renamed", date=d, pr=n)
    out[commits // 2 + 1] = lambda r, d, n: r.remove_module(f"{INFRA}/s2-m1", date=d, pr=n)

    def born(r: GitOps, d: datetime, n: int) -> None:
        r.add_module(f"{APPS}/newcomer")
        r.add_chainsaw_suite("apps-newcomer", [f"{APPS}/newcomer"])
        r.commit(f"feat: newcomer, chainsaw from day one (#{n})", date=d)

    out[2 * commits // 3 + 1] = born
    return out


# -- a kyverno/policies-sized tree: policy folders holding their own tests ----------------
POLICIES = 600  # folders at the end of the history, ten files each: 6,000 files
POLICY_COMMITS = 600
MARKER = "modules:\n  marker: '**/artifacthub-pkg.yml'\nexclude: [docs]\n"


def _policy(name: str, version: int) -> str:
    return (
        f"apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: {name.rsplit('/', 1)[1]}\n"
        f"  annotations:\n    policies.kyverno.io/version: 1.{version}.0\nspec:\n  rules:\n"
        "  - name: check\n    match: {any: [{resources: {kinds: [Pod]}}]}\n"
        "    validate: {message: labels are required, pattern: {metadata: {labels: {app: '?*'}}}}\n"
    )


def _kuttl_files(policy: str) -> dict[str, str]:
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx}]}\n"
    return {f"{policy}/00-install.yaml": pod, f"{policy}/01-assert.yaml": pod, f"{policy}/02-errors.yaml": pod,
            f"{policy}/03-cleanup.yaml": pod}  # fmt: skip


def _chainsaw_files(policy: str, version: int) -> dict[str, str]:
    test = (
        "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\nspec:\n  steps:\n"
        "  - try:\n    - apply: {file: ../policy.yaml}\n    - assert: {file: policy-ready.yaml}\n"
        "    - apply: {file: good-resources.yaml}\n    - apply: {file: bad-resources.yaml, expect: [{check: {($error != null): true}}]}\n"
    )
    pod = f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{version}, labels: {{app: a}}}}\n"
    return {f"{policy}/.chainsaw-test/chainsaw-test.yaml": test, f"{policy}/.chainsaw-test/policy-ready.yaml": pod,
            f"{policy}/.chainsaw-test/good-resources.yaml": pod, f"{policy}/.chainsaw-test/bad-resources.yaml": pod}  # fmt: skip


def _new_policy(builder: RepoBuilder, policy: str, n: int, chainsaw: bool) -> None:
    builder.write(f"{policy}/artifacthub-pkg.yml", f"name: {policy.rsplit('/', 1)[1]}\nversion: 1.{n}.0\ndigest: d{n}\n")
    builder.write(f"{policy}/policy.yaml", _policy(policy, n))
    builder.write(f"{policy}/.kyverno-test/kyverno-test.yaml", "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\n")
    builder.write(f"{policy}/.kyverno-test/resource.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: r}\n")
    builder.write(f"{policy}/.kyverno-test/values.yaml", "policies: []\n")
    builder.write(f"{policy}/README.md", f"# {policy}\n\nWhat it checks and why.\n")
    builder.write_many(_chainsaw_files(policy, n) if chainsaw else _kuttl_files(policy))


def build_policies_repo(path: Path, policies: int = POLICIES, commits: int = POLICY_COMMITS, seed: int = 11) -> Path:
    """A kyverno/policies-sized repository: ``policies`` folders of ten files (a marker file,
    the policy, kyverno CLI tests, kuttl steps or a hidden chainsaw test) at the end of
    ``commits`` commits: policy bumps, chainsaw test edits, docs, new policies, and kuttl
    folders moved to chainsaw one by one, as that repository's history goes."""
    rng = random.Random(seed)
    clock = iter(datetime(2023, 1, 2, tzinfo=UTC) + timedelta(hours=6 * i) for i in range(commits + 1))
    born = policies // 10
    folders = [f"{('best-practices', 'pod-security', 'other', 'cleanup')[i % 4]}/policy-{i}" for i in range(policies)]
    with RepoBuilder(path, bare=True) as builder:
        builder.write("sawmill.yaml", MARKER)
        builder.write("kuttl-test.yaml", "apiVersion: kuttl.dev/v1beta1\nkind: TestSuite\ntestDirs: [./]\n")
        live, kuttl = folders[: policies - born], []
        for i, policy in enumerate(live):
            _new_policy(builder, policy, 0, chainsaw=i % 2 == 0)
            kuttl += [policy] if i % 2 else []
        builder.commit("feat: the policies", date=next(clock))
        for n in range(1, commits):
            roll, policy = rng.random(), rng.choice(live)
            if roll < 0.45:
                builder.write(f"{policy}/policy.yaml", _policy(policy, n))
                message = f"fix: {policy} (#{n})"
            elif roll < 0.60:
                builder.write(f"{policy}/artifacthub-pkg.yml", f"name: x\nversion: 1.{n}.0\ndigest: d{n}\n")
                message = "chore: update digests"
            elif roll < 0.72 and kuttl:
                moved = kuttl.pop(rng.randrange(len(kuttl)))
                for step in _kuttl_files(moved):
                    builder.delete(step)
                builder.write_many(_chainsaw_files(moved, n))
                message = f"test: {moved} on chainsaw (#{n})"
            elif roll < 0.80 and len(live) < policies:
                live.append(folders[len(live)])
                _new_policy(builder, live[-1], n, chainsaw=True)
                message = f"feat: {live[-1]} (#{n})"
            elif roll < 0.90:
                builder.write(f"docs/notes-{n % 40}.md", f"note {n}\n")
                message = "docs: notes"
            else:
                builder.write(f"{policy}/.kyverno-test/resource.yaml", f"apiVersion: v1\nkind: Pod\nmetadata: {{name: r{n}}}\n")
                message = f"test: {policy} resources"
            builder.commit(message, date=next(clock))
    return path


def stream_only(repo: Path, paths: list[str]) -> None:
    """The walk's own share: the raw stream parsed and the snapshot kept, without statuses."""
    files: dict[str, tuple[str, str]] = {}
    for commit in iter_log(repo, ["HEAD"], paths):
        for change in commit.changes:
            if change.status == "D":
                files.pop(change.path, None)
            else:
                files[change.path] = (change.mode, change.sha)


def policies_backfill(tmp: Path) -> list[Result]:
    """The backfill of a kyverno/policies-sized tree (its own sawmill.yaml: a marker rule,
    so every path is relevant) against the same ``git log --name-only`` floor."""
    from app.scanner.history_scan import load_config

    path = build_policies_repo(tmp / "policies.git")
    url = f"sqlite:///{tmp / 'policies.db'}"
    migrate(url)
    config = load_config(path, "HEAD")
    keys, stats = iter(range(100)), {}

    def backfill() -> None:
        SHARED.clear()  # a backfill as the first scan of a repository meets it: nothing parsed before
        with session_scope(url) as session:
            stats["update"] = update_history(session, path, f"policies-{next(keys)}", config)

    # the floor the goal is held to runs in turns with the backfill, so both meet the same load
    parsed, took = turn_about(lambda: stream_and_parse(path), backfill, repeat=7)
    base = best_of(lambda: floor(path), repeat=3)
    files = subprocess.run(["git", "ls-tree", "-r", "--name-only", "HEAD"], cwd=path, capture_output=True, text=True)
    shape = (f"{stats['update'].commits} commits, {files.stdout.count(chr(10))} files at the tip, "
             f"{len(stats['update'].events)} events")  # fmt: skip
    return [
        Result(
            "history backfill, kyverno/policies-sized tree, vs git log --raw + test blobs parsed once",
            took / parsed,
            goal=2.0,
            detail=f"backfill {took:.2f} s, floor {parsed:.2f} s ({shape}): the issue's floor; "
            f"{took / base:.1f}x the stricter git log --name-only ({base:.2f} s), which parses nothing",
        ),
    ]


def is_test_document(path: str) -> bool:
    """The tree's test documents, as build_policies_repo writes them: chainsaw tests and the files
    in their folders, and kuttl's numbered steps (the kyverno CLI tests are not tests we read)."""
    name = path.rsplit("/", 1)[-1]
    return "/.chainsaw-test/" in path or (name[:2].isdigit() and name[2:3] == "-" and name.endswith(".yaml"))


FILE_REF = re.compile(rb"file:\s*([^\s,}]+)")


def raw_log(repo: Path) -> list[list[tuple[str, str]]]:
    """The floors' one ``git log --raw`` stream of the first-parent line, oldest first, with no
    pathspec as the walk's own log (see history_log.log_command): each commit's (path, new blob)."""
    log = subprocess.run(["git", "log", "--raw", "--first-parent", "--no-renames", "--reverse", "--format=%H"],
                         cwd=repo, capture_output=True, text=True, check=True).stdout  # fmt: skip
    commits: list[list[tuple[str, str]]] = []
    for line in log.splitlines():
        if not line.startswith(":"):
            commits.append([])
        elif commits:
            meta, path = line.split("\t", 1)
            commits[-1].append((path, meta.split()[3]))
    return commits


def stream_and_parse(repo: Path) -> None:
    """The floor issue 14 names: one ``git log --raw`` stream, and every distinct blob of a test
    document parsed once with the C loader. A file a chainsaw test applies (``../policy.yaml``)
    while that test names it is read too, and parsed only if its bytes can spell a Flux
    Kustomization (one may name a module), as the scanner reads it. All through one
    ``cat-file --batch``."""
    commits = raw_log(repo)
    test_blobs = list(dict.fromkeys(sha for c in commits for p, sha in c if p.endswith("/chainsaw-test.yaml")
                                    and set(sha) != {"0"}))  # fmt: skip
    refs = {sha: FILE_REF.findall(body) for sha, body in zip(test_blobs, _batch(repo, test_blobs))}
    tests: dict[str, None] = {}  # test documents: parsed
    applied: dict[str, None] = {}  # files the tests name: read, parsed if they may hold a Flux Kustomization
    tree: dict[str, str] = {}  # path -> blob
    names: set[str] = set()  # what the tests name (this tree's tests are never deleted)
    for changes in commits:
        added = [p for p, sha in changes if p.endswith("/chainsaw-test.yaml") and set(sha) != {"0"}]
        for path, sha in changes:
            tree.pop(path, None) if set(sha) == {"0"} else tree.__setitem__(path, sha)
        for test in added:
            folder = posixpath.dirname(test)
            for ref in refs[tree[test]]:
                path = posixpath.normpath(posixpath.join(folder, ref.decode()))
                names.add(path)
                if path in tree and not is_test_document(path):
                    applied.setdefault(tree[path], None)
        for path, sha in changes:
            if set(sha) != {"0"}:
                if is_test_document(path):
                    tests.setdefault(sha, None)
                elif path in names:
                    applied.setdefault(sha, None)
    bodies = _batch(repo, [*tests, *applied])
    for body in bodies[: len(tests)] + [b for b in bodies[len(tests) :] if b"fluxcd" in b or b"\\" in b]:
        list(yaml.load_all(body, Loader=yaml.CSafeLoader))


def log_and_parse(repo: Path, config: ScanConfig) -> None:
    """The floor issue 14 names for a backfill: one ``git log --raw`` stream of the first-parent
    line (no pathspec, as the walk's own log) and every distinct blob of a test document (YAML
    under a test root or the workflows folder) parsed once with the C loader, all through one
    ``cat-file --batch``."""
    folders = tuple(f"{root}/" for root in (*config.test_roots, config.workflows))
    blobs = dict.fromkeys(sha for changes in raw_log(repo) for path, sha in changes
                          if path.startswith(folders) and path.endswith((".yaml", ".yml")) and set(sha) != {"0"})  # fmt: skip
    for body in _batch(repo, list(blobs)):
        list(yaml.load_all(body, Loader=yaml.CSafeLoader))


def _batch(repo: Path, shas: list[str]) -> list[bytes]:
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, input="\n".join(shas).encode() + b"\n",
                         capture_output=True, check=True).stdout  # fmt: skip
    bodies, at = [], 0
    for _ in shas:
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        bodies.append(out[header_end + 1 : header_end + 1 + size])
        at = header_end + 1 + size + 1
    return bodies


def floor(repo: Path) -> None:
    """git's least work for the walk's stream: its log without a pathspec, as the walk's own
    (see history_log.log_command: one would double git's time), and names only."""
    subprocess.run(["git", "log", "--name-only", "--format=%H"], cwd=repo, capture_output=True, check=True)


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="sawmill-bench-history-") as tmp:
        builder, repo = build_history_repo(Path(tmp) / "history.git")
        path = builder.path
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        config = ScanConfig()
        paths = relevant_paths(config)
        keys = iter(range(100))
        stats = {}

        def backfill() -> None:
            SHARED.clear()  # a backfill as the first scan of a repository meets it: nothing parsed before
            with session_scope(url) as session:
                stats["update"] = update_history(session, path, f"bench-{next(keys)}", config)

        base, took = turn_about(lambda: floor(path), backfill, repeat=11)
        parsed, took_parsed = turn_about(lambda: log_and_parse(path, config), backfill, repeat=7)
        full = stats["update"]
        stream = best_of(lambda: stream_only(path, paths), repeat=3)
        incremental = []
        suite = repo.suites[next(iter(repo.suites))]
        for i in range(3):
            builder.write(suite.manifest(suite.modules[0]), flux_kustomization(f"tune-{i}", suite.modules[0]))
            repo.commit(f"test: one more commit {i}")
            builder.flush()
            start = time.perf_counter()
            with session_scope(url) as session:
                update_history(session, path, "bench-0", config)
            incremental.append(time.perf_counter() - start)
        builder.repo.close()
        policies = policies_backfill(Path(tmp))
    return [
        *policies,
        Result(
            "history backfill vs git log --raw + test blobs parsed once",
            took_parsed / parsed,
            goal=3.0,
            detail=f"backfill {took_parsed:.2f} s, floor {parsed:.2f} s ({full.commits} relevant commits of {COMMITS}, "
            f"{len(full.events)} events): the issue's floor; {took / base:.1f}x the stricter git log --name-only "
            f"({base:.2f} s), which parses nothing",
        ),
        Result(
            "history stream alone (git log --raw parsed, snapshot kept) vs floor",
            stream / base,
            goal=3.0,
            detail="the walk without module statuses: what is left is scan_files, once per commit that adds, "
            "removes or edits a file the scanner reads",
        ),
        Result(
            "history rescan after one new commit",
            min(incremental),
            goal=0.2,
            unit="s",
            detail="incremental: one relevant commit walked, branches checked",
        ),
    ]
