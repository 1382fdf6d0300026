"""The one `git log --raw -z` stream: records, odd paths, merges, and the seed repository's story."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, build_seed_repo
from app.scanner.config import ScanConfig
from app.scanner.history import walk_history
from app.scanner.history_log import iter_log
from app.scanner.history_scan import HistoryScanner, relevant_paths


def test_the_stream_keeps_odd_paths_deletes_and_first_parent_merges(tmp_path: Path) -> None:
    with RepoBuilder(tmp_path / "r") as b:
        b.write("ci/test/a b/x.yaml", "1").write("ci/test/ünï/y.yaml", "2").write("elsewhere.txt", "-")
        first = b.commit("first (#1)")
        b.write("ci/test/side.yaml", "side")
        side = b.commit("side work", branch="topic", parent=first)
        b.delete("ci/test/a b/x.yaml").write("ci/test/ünï/y.yaml", "3")
        merge = b.commit("Merge topic", merge=side)
    commits = list(iter_log(tmp_path / "r", ["HEAD"], ["ci/test"]))
    assert [c.sha for c in commits] == [first.sha, merge.sha]  # the side branch is not walked
    assert [(c.status, c.path) for c in commits[0].changes] == [("A", "ci/test/a b/x.yaml"), ("A", "ci/test/ünï/y.yaml")]
    assert [(c.status, c.path, c.mode) for c in commits[1].changes] == [
        ("D", "ci/test/a b/x.yaml", "000000"),
        ("M", "ci/test/ünï/y.yaml", "100644"),
    ]
    assert commits[1].parents == (first.sha, side.sha)
    assert (commits[0].subject, commits[0].author) == ("first (#1)", "Sam Sawyer")


def test_the_seed_repository_history(tmp_path: Path) -> None:
    path = build_seed_repo(tmp_path / "seed")
    config = ScanConfig()
    with HistoryScanner(path, config) as scanner:
        walk = walk_history(path, "HEAD", relevant_paths(config), scanner)
    moved = [(t.path, t.from_status, t.to_status, t.pr) for t in walk.transitions if t.from_status]
    assert moved == [
        (f"{INFRA}/kubernetes-core", "legacy", "migrated", 812),
        (f"{INFRA}/kubernetes-extra", "legacy", "migrated", 812),
    ]
    # bitwarden came after the PoC with a legacy test only: the one regression
    assert [(t.path, t.pr) for t in walk.transitions if t.regression] == [("apps/subsystems/bitwarden", 840)]
    assert len([t for t in walk.transitions if t.kind == "born"]) == 18


def test_no_subject_or_path_is_taken_for_a_boundary(tmp_path: Path) -> None:
    with RepoBuilder(tmp_path / "r") as b:
        b.write("ci/test/:colon.yaml", "1").write("ci/test/\x01odd.yaml", "2")
        b.commit("a \x01 subject\n\nwith a body")
        b.write("ci/test/:colon.yaml", "3")
        b.commit(":looks like a raw line")
    commits = list(iter_log(tmp_path / "r", ["HEAD"], ["ci/test"]))
    assert [c.subject for c in commits] == ["a \x01 subject", ":looks like a raw line"]
    assert [[ch.path for ch in c.changes] for c in commits] == [
        ["ci/test/\x01odd.yaml", "ci/test/:colon.yaml"],  # git's byte order
        ["ci/test/:colon.yaml"],
    ]


def test_every_path_is_read_without_a_pathspec_and_commits_changing_nothing_are_passed_over(tmp_path: Path) -> None:
    """A marker rule makes every path relevant. git is given no pathspec (see log_command), so
    the reader passes over what ``.`` would have had git leave out: an empty commit, and a
    merge changing nothing on the first-parent line. The commits are those ``git rev-list -- .``
    names."""
    from app.scanner.history_log import log_command

    with RepoBuilder(tmp_path / "r") as b:
        b.write("p/a.yaml", "1").write("p/marker.yml", "m")
        first = b.commit("first")
        b.commit("nothing at all")  # empty
        b.write("p/a.yaml", "2")
        side = b.commit("side", branch="topic", parent=first)
        b.write("p/a.yaml", "2")
        same = b.commit("the same change on main")
        b.commit("Merge topic", merge=side)  # its tree is the first parent's
        b.write("q/b.yaml", "3")
        last = b.commit("last")
    assert log_command(["HEAD"])[-2:] == ["HEAD", "--"]  # no pathspec, whatever the paths
    commits = list(iter_log(tmp_path / "r", ["HEAD"], ["."]))
    listed = subprocess.run(["git", "rev-list", "--first-parent", "--reverse", "HEAD", "--", "."], cwd=tmp_path / "r",
                            capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert [c.sha for c in commits] == listed == [first.sha, same.sha, last.sha]
    assert [[ch.path for ch in c.changes] for c in commits] == [["p/a.yaml", "p/marker.yml"], ["p/a.yaml"], ["q/b.yaml"]]


def _children_named(name: str) -> list[tuple[int, str]]:
    """(pid, state) of this process's children running ``name``, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        comm, rest = text.split("(", 1)[1].rsplit(")", 1)
        state, ppid = rest.split()[:2]
        if int(ppid) == os.getpid() and comm == name:
            found.append((int(stat.parent.name), state))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from Linux's /proc")
def test_git_finishes_the_log_while_the_walk_holds_its_first_commit(tmp_path: Path) -> None:
    """The reader stops while a commit is scanned: git must not stall on a full pipe meanwhile.
    About 300 KiB of log follow the first commit here, far past a pipe's default 64 KiB."""
    folder = "ci/test/" + "a-rather-long-folder-name-" * 4
    with RepoBuilder(tmp_path / "r", bare=True) as b:
        b.write(f"{folder}/first.yaml", "0")
        b.commit("first")
        for n in range(400):
            b.write_many({f"{folder}/file-{n}-{k}.yaml": f"{n}" for k in range(4)})
            b.commit(f"more {n}")
    commits = iter_log(tmp_path / "r", ["HEAD"], ["ci/test"])
    first = next(commits)
    assert [c.path for c in first.changes] == [f"{folder}/first.yaml"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        states = [state for _pid, state in _children_named("git")]
        assert states, "the git log process is gone before it was reaped"
        if states == ["Z"]:  # done writing, waiting only to be reaped
            break
        time.sleep(0.02)
    assert states == ["Z"], f"git log stalled with the rest of the log unread: {states}"
    assert sum(len(c.changes) for c in commits) == 1600  # and the rest reads as before


def _git_children() -> dict[int, str]:
    """pid -> the git subcommand of each git child of this process not reaped yet. One that
    exited (its arguments gone) can only be a log here: a ``cat-file`` reader waits for
    input until it is closed."""
    found = {}
    for pid, _state in _children_named("git"):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:  # reaped meanwhile
            continue
        found[pid] = next((arg for arg in args[1:] if arg in ("log", "cat-file")), "log")
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from Linux's /proc")
def test_git_starts_on_the_log_at_once_and_a_log_closed_unread_leaves_no_process(tmp_path: Path) -> None:
    """The caller's next steps overlap git's work on the first commit; closing it ends git."""
    with RepoBuilder(tmp_path / "r") as b:
        b.write("ci/test/a.yaml", "1")
        b.commit("first")
    before = _git_children()
    commits = iter_log(tmp_path / "r", ["HEAD"], ["ci/test"])
    started = {pid: what for pid, what in _git_children().items() if pid not in before}
    assert list(started.values()) == ["log"]  # before any commit is asked for
    commits.close()
    assert started.keys().isdisjoint(_git_children())


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from Linux's /proc")
def test_a_walk_starts_its_blob_readers_once_git_works_on_its_log(tmp_path: Path) -> None:
    """git's first commit of a large tree takes longest; the readers start meanwhile, not before."""
    with RepoBuilder(tmp_path / "r") as b:
        b.write(f"{INFRA}/a-core/kustomization.yaml", "resources: []")
        b.write("ci/test/infra-a/00-assert.yaml", "kind: Pod")
        b.commit("first")
    before = _git_children()
    seen: list[list[str]] = []

    class Recording(HistoryScanner):
        def prefetch(self, files):
            seen.append(sorted(what for pid, what in _git_children().items() if pid not in before))
            super().prefetch(files)

    config = ScanConfig()
    with Recording(tmp_path / "r", config) as scanner:
        walk_history(tmp_path / "r", "HEAD", relevant_paths(config), scanner)
        readers = sorted(what for pid, what in _git_children().items() if pid not in before)
    assert seen[0] == ["log"]  # the walk's first read-ahead: git's log started, no reader yet
    assert readers == ["cat-file", "cat-file"]  # started there: contents and sizes


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from Linux's /proc")
def test_a_walk_that_fails_before_its_first_commit_leaves_no_git_log_behind(tmp_path: Path) -> None:
    """git starts on the log before the walk's first read-ahead; if that fails, git ends with
    the walk, even while the caller still holds the error (and with it the walk's frame)."""
    with RepoBuilder(tmp_path / "r") as b:
        b.write("ci/test/a.yaml", "1")
        b.commit("first")
    before = _git_children()

    class Failing(HistoryScanner):
        def prefetch(self, files):
            raise OSError("no more processes")

    config = ScanConfig()
    with Failing(tmp_path / "r", config) as scanner:
        with pytest.raises(OSError) as caught:
            walk_history(tmp_path / "r", "HEAD", relevant_paths(config), scanner)
        assert caught.value.__traceback__ is not None  # the error, and the walk's frame, still held
        assert [what for pid, what in _git_children().items() if pid not in before] == []


def test_the_reader_keeps_what_git_s_own_pathspec_would(tmp_path: Path) -> None:
    """git is given no pathspec (it doubled git's time); the reader keeps the changes the
    walk's pathspecs match, and passes over the commits left without one. Checked against
    git's own log with those pathspecs: the same commits, the same changes, in order."""
    paths = relevant_paths(ScanConfig())
    assert "*.yaml" in paths and "ci/test" in paths  # a wildcard and literal folders
    with RepoBuilder(tmp_path / "r") as b:
        b.write("ci/test/a/t.yaml", "1").write("docs/guide.md", "d").write("sawmill.yaml", "{}")
        first = b.commit("first")
        b.write("docs/guide.md", "d2")
        b.commit("docs only")  # nothing relevant: passed over
        b.write("docs/guide.md", "d3").write("clusters/prod/flux.yaml", "f").write("Makefile", "all:")
        mixed = b.commit("mixed")  # the YAML kept, the rest left out
        b.write(f"{INFRA}/m/README.md", "r").write("x.yaml/notes.txt", "n").write("ci/testing/t.yml", "t")
        b.write("*.yaml/notes.txt", "a folder named as the wildcard: git takes it literally too")
        b.write("sawmill.yaml.orig", "o").write("scripts/run.sh", "s")
        odd = b.commit("odd names")
        b.write("ci/test/a/t.yaml", "2")
        side = b.commit("side", branch="topic", parent=odd)
        b.write("docs/other.md", "o")
        b.commit("docs on main")
        b.write("ci/test/a/t.yaml", "2")  # the merge brings the side's change
        merge = b.commit("Merge topic", merge=side)
        b.delete("docs/guide.md").delete("ci/test/a/t.yaml")
        last = b.commit("last")
    repo = tmp_path / "r"
    ours = [(c.sha, [(ch.status, ch.path, ch.sha) for ch in c.changes]) for c in iter_log(repo, ["HEAD"], paths)]
    raw = subprocess.run(["git", "log", "--raw", "-z", "--first-parent", "--diff-merges=first-parent", "--no-renames",
                          "--no-abbrev", "--reverse", "--format=%x01%H", "HEAD", "--", *paths], cwd=repo,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    theirs = []
    fields = [f.lstrip("\n") for f in raw.split("\0")]
    for i, f in enumerate(fields):
        if f.startswith("\x01"):
            theirs.append((f[1:], []))
        elif f.startswith(":"):
            meta = f[1:].split(" ")
            theirs[-1][1].append((meta[4][0], fields[i + 1], meta[3]))
    assert ours == theirs
    assert [sha for sha, _ in ours] == [first.sha, mixed.sha, odd.sha, merge.sha, last.sha]
    assert [p for _, p, _ in dict(ours)[mixed.sha]] == ["clusters/prod/flux.yaml"]
    assert [p for _, p, _ in dict(ours)[odd.sha]] == ["*.yaml/notes.txt", "ci/testing/t.yml", f"{INFRA}/m/README.md"]


def test_a_commit_s_relevant_files_are_the_walk_s_snapshot_there(tmp_path: Path) -> None:
    """Where a rescan resumes (``relevant_files``) is what the walk had built at that commit from
    the log: YAML outside the roots, a symlink, odd names; no submodule, nothing irrelevant."""
    from app.scanner.history_scan import relevant_files

    paths = relevant_paths(ScanConfig())
    with RepoBuilder(tmp_path / "r") as b:
        b.write("ci/test/a/t.yaml", "1").write("clusters/prod/flux.yaml", "f").write("docs/guide.md", "d")
        b.write(f"{INFRA}/m/README.md", "r").write("x.yaml/notes.txt", "n").write("ci/test/a b/ünï.yml", "u")
        b.symlink("ci/test/link.yaml", "a/t.yaml").submodule("ci/test/sub", "0" * 39 + "1")
        b.commit("first")
        b.delete("clusters/prod/flux.yaml").write("apps/x.yaml", "x").write("scripts/run.sh", "s")
        last = b.commit("second")
    walked: dict[str, tuple[str, str]] = {}
    for commit in iter_log(tmp_path / "r", ["HEAD"], paths):
        for change in commit.changes:
            if change.status == "D" or change.mode == "160000":
                walked.pop(change.path, None)
            else:
                walked[change.path] = (change.mode, change.sha)
    listed = relevant_files(tmp_path / "r", last.sha, paths)
    assert {path: (ref.mode, ref.sha) for path, ref in listed.items()} == walked
    assert sorted(listed) == ["apps/x.yaml", "ci/test/a b/ünï.yml", "ci/test/a/t.yaml", "ci/test/link.yaml",
                              f"{INFRA}/m/README.md"]  # fmt: skip


def sha256_repo(path: Path, files: dict[str, str]) -> str:
    """A repository in git's SHA-256 object format with one commit of ``files``; its sha."""
    run = lambda *args: subprocess.run(["git", "-c", "user.name=a", "-c", "user.email=a@b", *args], cwd=path,
                                       capture_output=True, text=True, check=True).stdout  # fmt: skip
    path.mkdir()
    run("init", "-q", "--object-format=sha256")
    for name, text in files.items():
        (path / name).write_text(text)
    run("add", ".")
    run("commit", "-q", "-m", "first")
    return run("rev-parse", "HEAD").strip()


def test_a_sha256_repository_s_relevant_files(tmp_path: Path) -> None:
    """The empty tree the listing starts from is named in the repository's own hash."""
    from app.scanner.history_scan import relevant_files

    repo = tmp_path / "r"
    head = sha256_repo(repo, {"a.yaml": "a: 1\n"})
    assert len(head) == 64
    for commit in (head, "HEAD"):  # a full sha of its hash, or a name git is asked about
        assert list(relevant_files(repo, commit, relevant_paths(ScanConfig()))) == ["a.yaml"]


def test_a_walk_of_a_sha256_repository_with_many_large_blobs_ends(tmp_path: Path) -> None:
    """Its requests to git are 65 bytes each: 1,200 of them (over 64 KiB), answered with 16 KiB
    blobs, once left the walk writing to a git that had stopped reading. Run apart, with a
    time limit, so a hang fails the test instead of the suite."""
    repo = tmp_path / "r"
    sha256_repo(repo, {f"f{n:04}.yaml": f"n: {n}\nx: {'y' * 16384}\n" for n in range(1200)})
    script = (
        "import sys; from app.scanner.config import ScanConfig; from app.scanner.history import walk_history;"
        "from app.scanner.history_scan import HistoryScanner, relevant_paths;"
        "c = ScanConfig(); s = HistoryScanner(sys.argv[1], c).__enter__();"
        "print(walk_history(sys.argv[1], 'HEAD', relevant_paths(c), s).commits)"
    )
    done = subprocess.run([sys.executable, "-c", script, str(repo)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "1", done.stderr
