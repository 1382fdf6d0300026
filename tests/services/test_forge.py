"""Commit and pull request links: the web address of a repository from its git remote."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.services.forge import forge_for, repository_forge

SHA = "4f3c2a1e9b0d7c6a5f4e3d2c1b0a99887766554f"


@pytest.mark.parametrize(
    ("remote", "commit", "pull"),
    [
        ("https://github.com/org/platform.git", "https://github.com/org/platform/commit/{sha}", "https://github.com/org/platform/pull/7"),
        ("https://github.com/org/platform", "https://github.com/org/platform/commit/{sha}", "https://github.com/org/platform/pull/7"),
        ("https://x-access-token:s3cret@github.com/org/platform.git/", "https://github.com/org/platform/commit/{sha}", "https://github.com/org/platform/pull/7"),
        ("git@github.com:org/platform.git", "https://github.com/org/platform/commit/{sha}", "https://github.com/org/platform/pull/7"),
        ("ssh://git@github.com/org/platform.git", "https://github.com/org/platform/commit/{sha}", "https://github.com/org/platform/pull/7"),
        ("ssh://git@GitHub.com:22/org/platform.git", "https://github.com/org/platform/commit/{sha}", "https://github.com/org/platform/pull/7"),
        ("https://gitlab.com/group/sub/platform.git", "https://gitlab.com/group/sub/platform/-/commit/{sha}", "https://gitlab.com/group/sub/platform/-/merge_requests/7"),
        ("git@gitlab.example.com:group/platform.git", "https://gitlab.example.com/group/platform/-/commit/{sha}", "https://gitlab.example.com/group/platform/-/merge_requests/7"),
        ("ssh://git@gitlab.example.com:2222/group/platform.git", "https://gitlab.example.com/group/platform/-/commit/{sha}", "https://gitlab.example.com/group/platform/-/merge_requests/7"),
        ("http://gitea.local:3000/org/platform.git", "http://gitea.local:3000/org/platform/commit/{sha}", "http://gitea.local:3000/org/platform/pulls/7"),
        ("https://codeberg.org/org/platform.git", "https://codeberg.org/org/platform/commit/{sha}", "https://codeberg.org/org/platform/pulls/7"),
        ("forgejo@forgejo.example.org:org/platform.git", "https://forgejo.example.org/org/platform/commit/{sha}", "https://forgejo.example.org/org/platform/pulls/7"),
        ("git@bitbucket.org:org/platform.git", "https://bitbucket.org/org/platform/commits/{sha}", "https://bitbucket.org/org/platform/pull-requests/7"),
        ("git://git.example.com/org/platform.git", "https://git.example.com/org/platform/commit/{sha}", None),
        ("https://git.example.com/org/platform.git", "https://git.example.com/org/platform/commit/{sha}", None),
    ],
)
def test_remote_to_commit_and_pull_request_pages(remote: str, commit: str, pull: str | None) -> None:
    forge = forge_for(remote)
    assert forge is not None
    assert forge.commit(SHA) == commit.format(sha=SHA)
    assert forge.pull(7) == pull


@pytest.mark.parametrize("remote", [None, "", "/srv/git/platform.git", "../platform", "file:///srv/git/platform.git",
                                    "https://github.com/", "git@github.com:", "ext::sh -c evil", "http://[",
                                    "https://github.com:port/org/repo"])  # fmt: skip
def test_no_web_page_for_a_local_or_empty_remote(remote: str | None) -> None:
    assert forge_for(remote) is None


def test_the_web_url_and_the_forge_setting_win_over_the_remote() -> None:
    forge = forge_for("git@github.com:org/platform.git", web_url="https://git.example.com/team/platform", kind="forgejo")
    assert forge.commit(SHA) == f"https://git.example.com/team/platform/commit/{SHA}"
    assert forge.pull(12) == "https://git.example.com/team/platform/pulls/12"
    assert forge_for(None, "https://git.example.com/team/platform", "gitlab").pull(3).endswith("/team/platform/-/merge_requests/3")


def test_a_local_clone_links_through_its_origin_a_url_through_itself(tmp_path: Path) -> None:
    clone = tmp_path / "platform"
    subprocess.run(["git", "init", "-q", str(clone)], check=True)
    assert repository_forge(str(clone)) is None  # no origin: no links
    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    subprocess.run(["git", "-C", str(other), "remote", "add", "origin", "git@gitlab.com:team/platform.git"], check=True)
    assert repository_forge(str(other)).commit("abc") == "https://gitlab.com/team/platform/-/commit/abc"
    assert repository_forge("https://github.com/org/platform.git").pull(1) == "https://github.com/org/platform/pull/1"
    assert repository_forge(str(other), "https://web.example.com/p").commit("abc") == "https://web.example.com/p/commit/abc"
    assert repository_forge(None) is None
