from pathlib import Path

import git

from app.repobuilder import RepoBuilder


def test_builder_writes_history_branches_tags_and_odd_blobs(tmp_path: Path) -> None:
    with RepoBuilder(tmp_path / "r") as b:
        b.write("a.txt", "hello\n").write("bin.dat", b"\xff\x00\xfe").symlink("link", "a.txt")
        first = b.commit("first")
        b.write("dir/x.yaml", "k: v\n")
        second = b.commit("second (#12)")
        b.flush()
        b.rename("dir", "moved")
        b.commit("rename")
        b.branch("feature", second)
        b.write("f.txt", "f")
        b.commit("feature work", branch="feature")
        b.tag("v1", first)
    repo = git.Repo(tmp_path / "r")
    assert [c.summary for c in repo.iter_commits("main")] == ["rename", "second (#12)", "first"]
    assert repo.commit("v1").hexsha == first.sha
    assert repo.commit("feature").parents[0].hexsha == second.sha
    assert repo.commit("v1").tree["bin.dat"].data_stream.read() == b"\xff\x00\xfe"
    assert repo.commit("v1").tree["link"].mode == 0o120000
    assert "moved/x.yaml" in [i.path for i in repo.commit("main").tree.traverse()]


def test_bare_repository(tmp_path: Path) -> None:
    with RepoBuilder(tmp_path / "bare.git", bare=True) as b:
        b.write("README.md", "# hi\n")
        b.commit("init")
    assert git.Repo(tmp_path / "bare.git").bare
