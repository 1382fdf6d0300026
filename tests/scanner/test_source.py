"""Reading git: any ref, bare or not, errors in one line, nothing written."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
from pathlib import Path

import git
import pytest

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, SEED_TAG_BEFORE_POC, build_seed_repo
from app.scanner import GitSource, ParseCache, scan
from app.scanner.model import ScanError
from app.scanner.source import _PIPE, BlobRef
from tests.scanner.conftest import MakeRepo, chainsaw, drop_blob, flux, module, statuses


def fingerprint(git_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(git_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(git_dir.rglob("*"))
        if p.is_file()
    }


def test_a_scan_writes_nothing_to_the_repository_not_even_its_config(tmp_path: Path) -> None:
    repo = build_seed_repo(tmp_path / "seed")
    before = fingerprint(repo / ".git")
    scan(repo)
    scan(repo, ref=SEED_TAG_BEFORE_POC)
    assert fingerprint(repo / ".git") == before
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout == ""


def test_git_processes_end_with_the_source(tmp_path: Path) -> None:
    repo = build_seed_repo(tmp_path / "seed")
    with GitSource(repo) as source:
        files = source.tree(source.resolve().sha)
        ParseCache(source.read).parse(files["ci/test/infra-kubernetes/chainsaw-test.yaml"])
        process = source.repo.git.cat_file_all.proc  # GitPython's persistent cat-file --batch
        assert process.poll() is None
    assert process.poll() is not None


def test_bare_clone_scans_like_the_work_tree(tmp_path: Path) -> None:
    repo = build_seed_repo(tmp_path / "seed")
    bare = tmp_path / "seed.git"
    git.Repo.clone_from(repo, bare, bare=True).close()
    assert statuses(bare) == statuses(repo)


def test_a_bare_repository_without_a_config_file_is_read_as_git_reads_it(tmp_path: Path) -> None:
    # git takes a folder holding HEAD, objects/ and refs/ for a bare repository, config or
    # not; GitPython, without core.bare to read, took the folder above for a work tree.
    repo = build_seed_repo(tmp_path / "seed")
    bare = tmp_path / "raw.git"
    git.Repo.clone_from(repo, bare, bare=True).close()
    (bare / "config").unlink()
    assert subprocess.run(["git", "-C", str(bare), "log", "-1"], capture_output=True).returncode == 0
    assert statuses(bare) == statuses(repo)
    assert statuses(bare, ref=SEED_TAG_BEFORE_POC) == statuses(repo, ref=SEED_TAG_BEFORE_POC)
    with GitSource(bare) as source:
        with pytest.raises(ScanError, match="unknown ref 'nope'"):
            source.resolve("nope")
    assert not (bare / "config").exists()  # read, never written to


def test_scan_at_a_tag_a_sha_and_a_branch(tmp_path: Path) -> None:
    repo = build_seed_repo(tmp_path / "seed")
    older = scan(repo, ref=SEED_TAG_BEFORE_POC)
    assert older.ref == SEED_TAG_BEFORE_POC
    assert older.summary.line() == "0 of 17 modules migrated (0%)"  # before the PoC, and before bitwarden
    assert "bitwarden" not in {m.name for m in older.modules}
    head = scan(repo)
    assert scan(repo, ref=head.commit).summary == head.summary
    assert scan(repo, ref="main").commit == head.commit
    assert head.commit_date.year == 2024


def test_not_a_repository_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="is not a git repository"):
        scan(tmp_path)
    with pytest.raises(ScanError, match="does not exist"):
        scan(tmp_path / "nowhere")
    with RepoBuilder(tmp_path / "platform") as builder:
        builder.write("ci/test/x.yaml", "a: 1\n").commit("init")
        builder.checkout()
    with pytest.raises(ScanError) as raised:
        scan(tmp_path / "platform" / "ci")
    assert str(raised.value) == f"{tmp_path / 'platform' / 'ci'} is not a git repository (it lies inside {tmp_path / 'platform'}: scan that)"


def test_unknown_ref_and_empty_repository(tmp_path: Path) -> None:
    repo = build_seed_repo(tmp_path / "seed")
    with pytest.raises(ScanError, match="unknown ref 'no-such-branch'"):
        scan(repo, ref="no-such-branch")
    with pytest.raises(ScanError, match="unknown ref"):
        scan(repo, ref="0" * 40)
    RepoBuilder(tmp_path / "empty").repo.close()
    with pytest.raises(ScanError, match="has no commits yet"):
        scan(tmp_path / "empty")


def test_a_sha256_repository_is_said_to_be_unsupported_not_to_lack_its_branch(tmp_path: Path) -> None:
    repo = tmp_path / "w"
    subprocess.run(["git", "init", "-q", "--object-format=sha256", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=a", "-c", "user.email=a@x", "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    for ref in ("HEAD", "main"):
        with pytest.raises(ScanError) as raised:
            scan(repo, ref=ref)
        assert str(raised.value) == (
            f"cannot scan {repo}: SHA-256 repositories are not supported yet (extensions.objectFormat=sha256)"
        )


def test_a_missing_blob_stops_a_scan_only_when_the_scan_reads_it(make_repo: MakeRepo) -> None:
    """git lists a blob its objects lack with the size ``BAD``: a file no scan reads (a note)
    changes nothing; one it reads (a test) is one line naming the file."""
    files = {
        **module("a-core"),
        f"{INFRA}/a-core/NOTES.md": "why a-core is odd\n",
        "ci/test/infra-a/a-core.yaml": flux("a-core", f"{INFRA}/a-core"),
        "ci/test/infra-a/chainsaw-test.yaml": chainsaw({"try": [{"apply": {"file": "a-core.yaml"}}]}),
    }
    repo = make_repo(files)
    before = statuses(repo)
    drop_blob(repo, f"{INFRA}/a-core/NOTES.md")
    assert statuses(repo) == before == {"a-core": "migrated"}
    with GitSource(repo) as source:
        assert source.tree(source.resolve().sha)[f"{INFRA}/a-core/NOTES.md"].size is None

    from app.scanner.parse import SHARED

    drop_blob(repo, "ci/test/infra-a/chainsaw-test.yaml")
    SHARED.clear()  # the scans above parsed it: this process would not read it again
    with pytest.raises(ScanError) as raised:
        scan(repo)
    assert str(raised.value) == "the repository is corrupt: the object of ci/test/infra-a/chainsaw-test.yaml is missing"


def test_read_many_matches_read_and_skips_missing_objects(tmp_path: Path) -> None:
    repo = build_seed_repo(tmp_path / "seed")
    with GitSource(repo) as source:
        files = source.tree(source.resolve().sha)
        shas = [ref.sha for ref in files.values()]
        got = source.read_many([*shas, "0" * 40], chunk=7)
        assert got == {sha: source.read(sha) for sha in shas}


def test_answers_asked_ahead_are_each_read_s_own_whatever_reads_come_between(tmp_path: Path) -> None:
    """ask_many leaves git's answers in the contents process until they are wanted; any other
    read through that process (a blob, a ref, more blobs, another ask) reads them first."""
    repo = build_seed_repo(tmp_path / "seed")
    with GitSource(repo) as source:
        tip = source.resolve()
        files = source.tree(tip.sha)
        shas = sorted({ref.sha for ref in files.values()})
        want = {sha: source.read(sha) for sha in shas}
        first, second = shas[: len(shas) // 2], shas[len(shas) // 2 :]
        answers = source.ask_many([*first, "0" * 40])
        assert source.read(second[0]) == want[second[0]]  # a read between: its own bytes
        assert source.resolve() == tip
        later = source.ask_many(second)
        assert source.read_many(second[:3], chunk=2) == {sha: want[sha] for sha in second[:3]}
        assert answers() == {sha: want[sha] for sha in first}  # the missing one left out
        assert later() == {sha: want[sha] for sha in second} and later() == {sha: want[sha] for sha in second}
        big = max(shas, key=lambda sha: len(want[sha]))
        assert source.ask_many(shas, limit=len(want[big]) - 1)() == {sha: want[sha] for sha in shas if sha != big}
        many = shas * (1 + 4 * 65536 // (41 * len(shas)))  # more requests than a default pipe holds, asked ahead
        assert source.ask_many(many)() == want
        beyond = shas * (1 + _PIPE // (41 * len(shas)))  # more requests than the widest pipe holds: read at once
        assert source.ask_many(beyond)() == want


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_SETPIPE_SZ"), reason="pipe sizes are Linux's")
def test_git_writes_the_answers_asked_ahead_while_the_caller_works_on(tmp_path: Path) -> None:
    """About 400 KiB of blobs asked: git writes them all into the pipe, far past a pipe's
    default 64 KiB, without waiting for them to be read."""
    import fcntl
    import termios
    import time

    with RepoBuilder(tmp_path / "r") as b:
        b.write_many({f"blob-{n}.yaml": f"{n}: " + "x" * 4000 + "\n" for n in range(100)})
        b.commit("blobs")
    with GitSource(tmp_path / "r") as source:
        files = source.tree(source.resolve().sha)
        answers = source.ask_many([ref.sha for ref in files.values()])
        stdout = source.repo.git.cat_file_all.stdout  # nothing of it read since the ask
        # each answer: "<sha> blob <size>\n", the blob, "\n"
        total = sum(len(f"{ref.sha} blob {ref.size}\n") + ref.size + 1 for ref in files.values())
        deadline, waiting = time.monotonic() + 10, 0
        while waiting < total and time.monotonic() < deadline:
            time.sleep(0.02)
            waiting = struct.unpack("i", fcntl.ioctl(stdout.fileno(), termios.FIONREAD, b"\0" * 4))[0]
        assert waiting == total > 4 * 65536, f"git stopped at {waiting} bytes of {total}"
        assert len(answers()) == 100


def test_answers_cut_short_are_never_taken_by_the_next_read(tmp_path: Path) -> None:
    """A read of many blobs (or sizes) stopped halfway by an interrupt leaves a request half
    written or the rest of git's answers in the pipe; the next read must get its own blob."""
    import signal

    class Interrupted(Exception):
        pass

    armed = []

    def interrupt(*_args):
        if armed:  # not once the read is over: a late signal changes nothing
            armed.clear()
            raise Interrupted

    with RepoBuilder(tmp_path / "r") as b:
        b.write_many({f"blob-{n}.yaml": f"{n}: " + "x" * 65536 + "\n" for n in range(200)})
        b.commit("blobs")
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        delay, cut = 0.002, 0
        for _ in range(40):
            with GitSource(tmp_path / "r") as source:
                files = source.tree(source.resolve().sha)
                shas = [ref.sha for ref in files.values()]
                for read in (lambda: source.ask_many(shas)(), lambda: source.read_many(shas), lambda: source.sizes(shas * 50)):
                    pending = source.ask_many(shas[-2:])  # asked ahead, unread when the read is cut short
                    armed.append(True)
                    signal.setitimer(signal.ITIMER_REAL, delay)
                    try:
                        read()
                        armed.clear()
                    except Interrupted:
                        cut += 1
                        assert all(source.read(sha) == data for sha, data in pending().items())
                        assert source.read(files["blob-7.yaml"].sha) == b"7: " + b"x" * 65536 + b"\n"
                        assert source.read_many(shas[:3]) == {sha: source.read(sha) for sha in shas[:3]}
                        assert source.sizes(shas[:3]) == {sha: len(source.read(sha)) for sha in shas[:3]}
                    finally:
                        signal.setitimer(signal.ITIMER_REAL, 0)
            if cut >= 2:
                break
            delay /= 1.5
        assert cut >= 2, "no read was cut short"
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_a_read_ahead_s_blobs_are_read_when_first_wanted_and_each_is_its_own(tmp_path: Path) -> None:
    """ParseCache.over asks git ahead (ask_many) and reads the answers at the first blob wanted;
    a blob over the cap is never asked for, whether the tree or git's sizes tell its size."""
    from app.scanner.parse import MAX_BYTES, TOO_LARGE

    with RepoBuilder(tmp_path / "r") as b:
        b.write_many({f"a/{n}.yaml": f"n: {n}\n" for n in range(30)})
        b.write("big.yaml", "k: " + "x" * MAX_BYTES + "\n")
        b.commit("init")
    with GitSource(tmp_path / "r") as source:
        files = source.tree(source.resolve().sha)
        want = {path: source.read(ref.sha) for path, ref in files.items() if path != "big.yaml"}
        for refs in (files, {path: BlobRef(ref.mode, ref.sha) for path, ref in files.items()}):  # sized, and as a log tells them
            blobs = ParseCache.over(source)
            blobs.prefetch(list(refs.values()))
            assert source.read(files["a/7.yaml"].sha) == want["a/7.yaml"]  # another read first
            assert {path: blobs.raw(ref) for path, ref in refs.items() if path != "big.yaml"} == want
            assert blobs.raw(refs["big.yaml"]) == TOO_LARGE
            blobs.forget()
            blobs.prefetch([refs["a/1.yaml"]])
            blobs.forget()  # with an ask unread: the next reads are still each their own
            assert ParseCache.over(source).parse(refs["a/2.yaml"]).docs == ({"n": 2},)


def test_commit_dates_keep_their_offset(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "r")
    env = {
        "GIT_COMMITTER_DATE": "2025-03-30T10:00:00+05:30",
        "GIT_AUTHOR_DATE": "2025-03-30T10:00:00+05:30",
        **{f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER") for what, value in (("NAME", "a"), ("EMAIL", "a@x"))},
    }
    repo.git.commit("--allow-empty", "-m", "x", env=env)
    with GitSource(tmp_path / "r") as source:
        assert source.resolve().date == repo.head.commit.committed_datetime
        assert source.resolve().date.utcoffset().total_seconds() == 5.5 * 3600
    repo.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="handing a repository to another user needs root")
def test_a_repository_of_another_user_says_why_git_refuses_it(tmp_path: Path) -> None:
    repo = build_seed_repo(tmp_path / "theirs")
    for path in [repo, *repo.rglob("*")]:
        os.lchown(path, 65534, 65534)
    for _ in range(20):  # git may exit before it reads the request: a broken pipe must say the same
        with pytest.raises(ScanError, match="belongs to another user .*safe.directory"):
            scan(repo)


def test_blobs_are_parsed_with_libyaml_and_once_per_sha(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from app.scanner import parse, yamlload

    assert yaml.__with_libyaml__ and yamlload.Loader is yaml.CSafeLoader  # about 10x faster than SafeLoader
    repo = RepoBuilder(tmp_path / "r")
    repo.write_many({"a/one.yaml": "k: v\n", "b/same.yaml": "k: v\n"}).commit("init")
    repo.flush()
    repo.repo.close()
    loads: list[str] = []
    real = yamlload.load_all
    monkeypatch.setattr(parse, "load_all", lambda text: loads.append(text) or real(text))
    with GitSource(tmp_path / "r") as source:
        files = source.tree(source.resolve().sha)
        blobs = ParseCache(source.read)
        assert blobs.parse(files["a/one.yaml"]).docs == ({"k": "v"},)
        assert blobs.parse(files["b/same.yaml"]).docs == ({"k": "v"},)
    assert loads == ["k: v\n"]  # same content, same sha: parsed once


def test_a_read_ahead_asks_git_once_per_blob_and_never_for_one_parsed_before(tmp_path: Path) -> None:
    """Each blob once, however many refs name it; none the shared store parsed already (another
    scan's); none a symlink; and the sizes asked only where the refs do not tell them."""
    from app.scanner.parse import SHARED

    SHARED.clear()
    repo = RepoBuilder(tmp_path / "r")
    repo.write_many({"a/one.yaml": "k: 1\n", "b/same.yaml": "k: 1\n", "c/two.yaml": "k: 2\n", "d/three.yaml": "k: 3\n"})
    repo.symlink("e/link.yaml", "../c/two.yaml")
    repo.commit("init")
    repo.flush()
    repo.repo.close()
    with GitSource(tmp_path / "r") as source:
        files = source.tree(source.resolve().sha)
        ParseCache.over(source, shared=True).parse(files["d/three.yaml"])  # another scan parsed it
        read, sized = [], []
        blobs = ParseCache(
            source.read, lambda shas: read.extend(shas) or source.read_many(shas),
            lambda shas: sized.extend(shas) or source.sizes(shas), shared=True,
        )  # fmt: skip
        unsized = BlobRef(files["c/two.yaml"].mode, files["c/two.yaml"].sha)  # as git log --raw tells it
        blobs.prefetch([*files.values(), unsized, files["a/one.yaml"]])
        assert sorted(read) == sorted({files["a/one.yaml"].sha, files["c/two.yaml"].sha})
        assert sized == []  # the tree told every size, the first ref of two.yaml among them
        blobs.forget()
        blobs.prefetch([unsized])
        assert sized == [unsized.sha]
    assert files["d/three.yaml"].sha not in read and files["e/link.yaml"].sha not in read
    SHARED.clear()
