"""The mirror of a repository tracked by URL, against a real git server (smart HTTP).

Repositories are written straight into the served bare repositories with the
repository builder; the mirror is read back with git.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import SEED_TAG_BEFORE_POC, GitOps, seed_history
from app.services.mirror import FetchError, fetch, has_all, is_url, mirror_path, public_url, read_refs, redact, url_problem
from tests.gitserver import GitServer, git_server  # noqa: F401  (fixture)
from tests.scanner.conftest import within

ZERO = "0" * 40


# -- helpers ----------------------------------------------------------------------


@pytest.fixture
def server(git_server, tmp_path: Path) -> GitServer:  # noqa: F811  (the imported fixture)
    return git_server(root=tmp_path / "srv")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def builder_for(server: GitServer, name: str = "platform") -> RepoBuilder:
    """A writer into the served repository ``name`` (created empty first)."""
    return RepoBuilder(server.create(name), bare=True)


def commit(builder: RepoBuilder, message: str, branch: str = "main") -> str:
    builder.write(f"{message}.txt", message + "\n")
    done = builder.commit(message, branch=branch)
    builder.flush()
    return done.sha  # type: ignore[return-value]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={repo}", *args], capture_output=True, text=True, check=True).stdout


def files_holding(root: Path, *needles: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and any(n.encode() in p.read_bytes() for n in needles)]


def leftover_processes(url: str) -> list[str]:
    """Processes that are children of this one (zombies included) or mention ``url``
    in their command line (git's helpers, orphaned if only git itself was killed)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            state, parent = (proc / "stat").read_text().rpartition(")")[2].split()[:2]
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        # children of this process that are git's (the suite's browser driver is a child too)
        if (int(parent) == os.getpid() and "git" in command.split(" ", 1)[0]) or url in command:
            found.append(f"{proc.name} {state} {command}")
    return found


# -- naming -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://github.com/org/repo.git", True),
        ("http://127.0.0.1:8080/public/x.git", True),
        ("ssh://git@host:2222/x.git", True),
        ("git://host/x.git", True),
        ("file:///srv/git/x.git", True),
        ("HTTPS://Host/x", True),
        ("git@github.com:org/repo.git", True),
        ("host.example:org/repo", True),
        ("./repo", False),
        ("/abs/path", False),
        ("repo", False),
        ("../work/platform", False),
        ("dir/a:b", False),  # a colon only after a slash: a path
        ("/srv/git@host:x", False),
        ("", False),
    ],
)
def test_is_url(text, expected):
    assert is_url(text) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:token@host/x", "https://host/x"),
        ("https://token@host/x", "https://host/x"),
        ("https://user:pa%40ss@host/x", "https://host/x"),
        ("https://user:p@ss@host/x", "https://host/x"),  # an unescaped "@" in the password
        ("https://deploy:Ab/Cd3fSecret@git.example.com/org/p.git", "https://git.example.com/org/p.git"),  # a "/" in it
        ("https://oauth2:glpat-secret@gitlab.example.com:8443/g/sub/repo.git", "https://gitlab.example.com:8443/g/sub/repo.git"),
        ("HTTPS://Host.Example/Org/Repo.git", "https://host.example/Org/Repo.git"),
        ("ssh://git@host:2222/x.git", "ssh://git@host:2222/x.git"),  # an ssh user is no secret
        ("ssh://git:password@host/x.git", "ssh://git@host/x.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("git://host/x.git", "git://host/x.git"),
        ("file:///srv/git/x.git", "file:///srv/git/x.git"),
        ("https://github.com/org/repo.git", "https://github.com/org/repo.git"),
        # an "@" in the path is the path's, as git reads it (a personal repository named by e-mail)
        ("https://bitbucket.example/scm/~jane@corp.example/flux.git", "https://bitbucket.example/scm/~jane@corp.example/flux.git"),
        ("https://t@host:8443/~jane@corp/x.git", "https://host:8443/~jane@corp/x.git"),
        ("file:///srv/team@2024/flux", "file:///srv/team@2024/flux"),
    ],
)  # fmt: skip
def test_public_url_drops_credentials(url, expected):
    assert public_url(url) == expected


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("fatal: unable to access 'https://user:s3cret@host/x/'", (), "fatal: unable to access 'https://***@host/x/'"),
        ("see https://tok@host/a and http://u:p@ss@h:80/b.", (), "see https://***@host/a and http://***@h:80/b."),
        ("the token ghp_abc leaked, ghp_abc again", ("ghp_abc",), "the token *** leaked, *** again"),
        ("a ghp_abcdef and its prefix ghp_abc", ("ghp_abc", "ghp_abcdef"), "a *** and its prefix ***"),
        ("nothing to hide in https://host/x or git@host:x", ("",), "nothing to hide in https://host/x or git@host:x"),
        ("ssh://git@host/x keeps its user", (), "ssh://git@host/x keeps its user"),
        ("tracking https://deploy:ab/Cd3fSecret@git.example.com/org/p.git (fetched)", (),
         "tracking https://***@git.example.com/org/p.git (fetched)"),
        ("unable to access 'https://d:A/b@h/x/': 403", (), "unable to access 'https://***@h/x/': 403"),
        ("https://host/scm/~jane@corp/x.git and https://host:8443/~j@c/y", (),
         "https://host/scm/~jane@corp/x.git and https://host:8443/~j@c/y"),  # an "@" in a path is no userinfo
    ],
)  # fmt: skip
def test_redact(text, secrets, expected):
    assert redact(text, secrets) == expected


def test_mirror_path_is_one_per_repository_and_holds_no_secret(tmp_path):
    plain = mirror_path(tmp_path, "https://git.example.com/org/platform.git")
    assert plain.parent == tmp_path / "mirrors"
    assert plain.name.startswith("git.example.com-org-platform-") and plain.name.endswith(".git")
    assert mirror_path(tmp_path, "https://x:tok-123@git.example.com/org/platform.git") == plain
    assert mirror_path(tmp_path, "https://tok-123@git.example.com/org/platform.git") == plain
    assert "tok-123" not in str(mirror_path(tmp_path, "https://tok-123@git.example.com/org/platform.git"))
    assert mirror_path(tmp_path, "https://git.example.com/org/other.git") != plain
    assert mirror_path(tmp_path, "git@github.com:org/repo.git").name.startswith("github.com-org-repo-")


# -- cloning and fetching -----------------------------------------------------------


def test_clones_a_public_url_into_a_bare_mirror(server, data_dir):
    builder = builder_for(server)
    seed_history(GitOps(builder))
    builder.flush()
    url = server.url("platform")

    result = fetch(url, data_dir)

    assert result.path == mirror_path(data_dir, url) and result.cloned and result.changed
    assert result.head == "main"
    served = read_refs(server.path("platform"))
    assert result.refs == {name: sha for name, sha in served.items() if name != "HEAD"}
    assert f"refs/tags/{SEED_TAG_BEFORE_POC}" in result.refs
    assert git(result.path, "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(result.path, "config", "remote.origin.url").strip() == url
    assert read_refs(result.path) == served  # HEAD included


def test_private_url_needs_the_token_and_never_stores_it(server, data_dir):
    builder = builder_for(server)
    sha = commit(builder, "first")
    url, token = server.url("platform", private=True), server.token

    with pytest.raises(FetchError) as refused:
        fetch(url, data_dir)
    assert refused.value.kind == "auth" and str(refused.value).startswith("authentication failed")
    assert url in str(refused.value)
    with pytest.raises(FetchError) as wrong:
        fetch(url, data_dir, token="wrong-" + token)
    assert wrong.value.kind == "auth" and token not in str(wrong.value)
    assert [p.name for p in (data_dir / "mirrors").iterdir() if not p.name.endswith(".lock")] == []  # no half mirror

    result = fetch(url, data_dir, token=token)
    assert result.refs == {"refs/heads/main": sha}
    fetch(url, data_dir, token=token)  # a fetch into the mirror too
    header = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    assert any(r.authorization == f"Basic {header}" for r in server.requests)  # sent as a header...
    assert git(result.path, "config", "remote.origin.url").strip() == url
    assert token not in (result.path / "config").read_text()
    assert files_holding(data_dir, token, header) == []  # ...and written nowhere
    assert token not in public_url(url) and token not in str(mirror_path(data_dir, url))


def test_credentials_inside_the_url_are_used_but_not_stored(server, data_dir):
    builder = builder_for(server)
    sha = commit(builder, "first")
    public, token = server.url("platform", private=True), server.token
    with_credentials = public.replace("http://", f"http://ci:{token}@")

    result = fetch(with_credentials, data_dir)

    assert result.refs == {"refs/heads/main": sha}
    assert result.path == mirror_path(data_dir, public)
    assert git(result.path, "config", "remote.origin.url").strip() == public
    assert files_holding(data_dir, token) == []
    missing = with_credentials.replace("platform", "missing")
    with pytest.raises(FetchError) as not_found:
        fetch(missing, data_dir)
    assert not_found.value.kind == "not_found" and token not in str(not_found.value)
    assert str(not_found.value).startswith(f"repository not found: {public_url(missing)}")


def test_fetch_reports_change_only_when_refs_move_and_prunes(server, data_dir):
    builder = builder_for(server)
    first = commit(builder, "first")
    commit(builder, "feature", branch="feature/x")
    url = server.url("platform")
    fetch(url, data_dir)

    again = fetch(url, data_dir)
    assert not again.changed and not again.cloned
    assert again.refs["refs/heads/main"] == first

    second = commit(builder, "second")
    builder.tag("v1", second)
    builder.flush()
    moved = fetch(url, data_dir)
    assert moved.changed and moved.refs["refs/heads/main"] == second and "refs/tags/v1" in moved.refs
    assert git(moved.path, "cat-file", "-t", second).strip() == "commit"

    git(server.path("platform"), "branch", "-D", "feature/x")
    pruned = fetch(url, data_dir)
    assert pruned.changed and "refs/heads/feature/x" not in pruned.refs
    assert "refs/heads/feature/x" not in read_refs(pruned.path)


def test_default_branch_follows_the_remote_head(server, data_dir):
    builder = builder_for(server)
    first = commit(builder, "first")
    builder.branch("develop", first)  # the same commit: only the default branch's name will move
    builder.flush()
    url = server.url("platform")
    assert fetch(url, data_dir).head == "main"

    git(server.path("platform"), "symbolic-ref", "HEAD", "refs/heads/develop")
    result = fetch(url, data_dir)

    assert result.head == "develop" and result.changed  # a new default branch is a change, though no ref moved
    assert git(result.path, "symbolic-ref", "HEAD").strip() == "refs/heads/develop"
    assert not fetch(url, data_dir).changed
    later = commit(builder, "later", branch="develop")
    assert fetch(url, data_dir).changed and read_refs(result.path)["HEAD"] == later


def test_unreachable_remote_fails_cleanly_and_keeps_the_mirror(server, data_dir):
    builder = builder_for(server)
    sha = commit(builder, "first")
    url = server.url("platform")
    before = read_refs(fetch(url, data_dir).path)
    server.stop()

    with pytest.raises(FetchError) as unreachable:
        fetch(url, data_dir)

    assert unreachable.value.kind == "unreachable"
    assert str(unreachable.value).startswith(f"remote unreachable: {url}")
    assert "\n" not in str(unreachable.value) and "Traceback" not in str(unreachable.value)
    path = mirror_path(data_dir, url)
    assert read_refs(path) == before
    assert git(path, "cat-file", "-t", sha).strip() == "commit"


def test_file_urls_are_mirrored_too(tmp_path, data_dir):
    with RepoBuilder(tmp_path / "origin.git", bare=True, branch="trunk") as builder:
        builder.write("README.md", "hello\n")
        tip = builder.commit("first")
    url = (tmp_path / "origin.git").as_uri()

    result = fetch(url, data_dir)

    assert result.cloned and result.head == "trunk" and result.refs == {"refs/heads/trunk": tip.sha}
    assert not fetch(url, data_dir).changed
    with pytest.raises(FetchError) as missing:
        fetch((tmp_path / "nowhere.git").as_uri(), data_dir)
    assert missing.value.kind == "not_found"


def test_a_killed_clone_leaves_nothing_that_breaks_the_next_fetch(server, data_dir):
    builder = builder_for(server)
    sha = commit(builder, "first")
    url = server.url("platform")
    path = mirror_path(data_dir, url)
    leftover = path.parent / f".{path.name}.k1ll3d.partial"  # what a clone killed mid-way leaves
    subprocess.run(["git", "init", "--quiet", "--bare", str(leftover)], check=True)
    (leftover / "objects" / "pack" / "pack-half.pack").write_bytes(b"PACK\0\0\0\2")

    result = fetch(url, data_dir)

    assert result.cloned and result.refs == {"refs/heads/main": sha}
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".lock")) == [path.name]


def test_a_mirror_that_is_not_whole_is_cloned_again(server, data_dir):
    builder = builder_for(server)
    commit(builder, "first")
    url = server.url("platform")
    path = fetch(url, data_dir).path
    (path / "HEAD").write_text("garbage\n")  # git no longer sees a repository here
    second = commit(builder, "second")

    result = fetch(url, data_dir)

    assert result.cloned and result.changed and result.refs["refs/heads/main"] == second
    assert read_refs(path)["HEAD"] == second
    path.rename(path.with_name("moved-away"))
    path.mkdir()  # an empty folder where the mirror should be
    assert fetch(url, data_dir).cloned


def test_fetches_of_one_mirror_at_the_same_time_take_turns(server, data_dir):
    sha = commit(builder_for(server), "first")
    url = server.url("platform")
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: fetch(url, data_dir), range(3)))

    assert sorted(r.cloned for r in results) == [False, False, True]
    assert all(r.refs == {"refs/heads/main": sha} for r in results)


def test_a_server_that_never_answers_times_out_without_leaving_processes(tmp_path, data_dir):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the kernel; nobody ever answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/public/platform.git"

        with within(10), pytest.raises(FetchError) as timed_out:
            fetch(url, data_dir, timeout=0.5)
        assert leftover_processes(url) == []  # git and its helpers killed and reaped

    assert timed_out.value.kind == "timeout" and str(timed_out.value).startswith(f"timed out fetching {url}")
    mirrors = data_dir / "mirrors"
    assert [p.name for p in mirrors.iterdir() if not p.name.endswith(".lock")] == []


# -- reading refs of any local repository ------------------------------------------


def test_read_refs_and_has_all_on_a_work_tree(tmp_path):
    with RepoBuilder(tmp_path / "work") as builder:
        builder.write("a.txt", "a\n")
        first = builder.commit("first")
        builder.tag("v1", first)
        builder.branch("topic", first)
    builder.checkout()
    builder.repo.close()
    work = tmp_path / "work"

    refs = read_refs(work)

    names = ["HEAD", "refs/heads/main", "refs/heads/topic", "refs/tags/v1"]
    assert refs == dict.fromkeys(names, first.sha)
    assert has_all(work, {"refs/heads/main": first.sha, "refs/tags/v1": first.sha})
    assert has_all(work, {"refs/heads/gone": ZERO})  # a deleted branch the repository no longer has
    assert not has_all(work, {"refs/heads/topic": ZERO})
    assert not has_all(work, {"refs/heads/main": "1" * 40})
    assert not has_all(work, {"refs/heads/new": first.sha})
    assert not has_all(tmp_path / "absent", {})


def test_read_refs_refuses_a_folder_that_is_no_repository_even_inside_one(tmp_path):
    with RepoBuilder(tmp_path / "outer") as builder:
        builder.write("a.txt", "a\n")
        builder.commit("first")
    inner = tmp_path / "outer" / "inner"
    inner.mkdir()
    subprocess.run(["git", "init", "--quiet", "--bare", str(tmp_path / "empty.git")], check=True)
    assert read_refs(tmp_path / "empty.git") == {}

    with pytest.raises(FetchError) as error:
        read_refs(inner)  # not the repository around it
    assert error.value.kind == "corrupt" and str(inner) in str(error.value)


def test_ssh_goes_through_the_users_git_ssh_command(server, data_dir, tmp_path, monkeypatch):
    """An ssh:// URL is fetched through GIT_SSH_COMMAND, as git does it: here a stand-in for ssh
    that runs the remote command (git-upload-pack '<path>') on this machine, and logs its call."""
    with builder_for(server) as builder:
        sha = commit(builder, "first")
    log = tmp_path / "ssh.log"
    fake = tmp_path / "fake-ssh"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\nfor last; do :; done\nexec sh -c "$last"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(fake))
    monkeypatch.setenv("GIT_SSH_VARIANT", "ssh")  # the stand-in takes OpenSSH's options (-p 2222)
    url = f"ssh://git@git.example:2222{server.path('platform')}"
    result = fetch(url, data_dir)
    assert result.refs["refs/heads/main"] == sha
    assert "-p 2222 git@git.example" in log.read_text() and "git-upload-pack" in log.read_text()


SLASHED = "https://deploy:Ab/Cd3fSecret@git.example.com/org/platform.git"  # git refuses it: "/" ends the host


def test_a_password_with_an_unescaped_slash_is_refused_in_one_line_and_never_shown(tmp_path, data_dir):
    with pytest.raises(FetchError) as refused:
        fetch(SLASHED, data_dir)
    assert "%2F" in str(refused.value) and "Secret" not in str(refused.value)
    assert "Secret" not in str(mirror_path(data_dir, SLASHED))
    env = {**os.environ, "SAWMILL_DATA_DIR": str(data_dir)}
    sawmill = [str(Path(sys.executable).with_name("sawmill"))]
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = str(free.getsockname()[1])
    served = subprocess.run([*sawmill, "serve", "--repo", SLASHED, "--port", port], capture_output=True, text=True, env=env, timeout=30)
    scanned = subprocess.run([*sawmill, "scan", SLASHED], capture_output=True, text=True, env=env, timeout=60)
    for done in (served, scanned):
        assert done.returncode == 1
        assert done.stderr.strip().splitlines()[-1] == (
            "error: the repository URL's password holds a '/': percent-encode it as %2F (and an '@' in it as %40)"
        )
        assert "Secret" not in done.stdout + done.stderr
    assert "fetching https://git.example.com/org/platform.git" in scanned.stderr
    assert not [p for p in data_dir.rglob("*") if "Secret" in p.name or (p.is_file() and b"Secret" in p.read_bytes())]


def test_a_url_with_an_at_sign_in_its_path_is_fetched_and_named_as_written(tmp_path, data_dir):
    """Only a password's "/" is refused: an "@" in the path (``/~jane@corp/``, ``team@2024``) is
    the path's, as git reads it, and the URL names its repository unchanged."""
    from app.repobuilder.gitops import build_seed_repo

    url = f"file://{build_seed_repo(tmp_path / 'team@2024' / 'flux').resolve()}"
    assert url_problem(url) is None and public_url(url) == url and redact(url) == url
    mirror = fetch(url, data_dir).path
    assert mirror == mirror_path(data_dir, url) and "refs/heads/main" in read_refs(mirror)


def test_an_unreachable_git_remote_says_the_connection_was_refused(data_dir):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once the socket is closed
    url = f"git://127.0.0.1:{port}/platform.git"

    with pytest.raises(FetchError) as unreachable:
        fetch(url, data_dir)

    assert unreachable.value.kind == "unreachable"
    assert str(unreachable.value).startswith(f"remote unreachable: {url}: unable to connect to 127.0.0.1: ")
    assert str(unreachable.value).endswith("Connection refused")
