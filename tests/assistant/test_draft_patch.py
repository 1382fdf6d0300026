"""The draft's patch is git's own format: new files, changed files, a last line without its newline."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.assistant.model import Draft, DraftFile


def test_git_applies_new_and_changed_files_whatever_their_last_line(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "ci").mkdir()
    (work / "ci" / "old.yaml").write_text("a: 1\nb: 2")  # no newline at the end
    (work / "keep.txt").write_text("one\ntwo\n")
    git = lambda *args: subprocess.run(["git", "-C", str(work), *args], check=True, capture_output=True, text=True)  # noqa: E731
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    draft = Draft(modules=["m"], commit="0" * 40, style="kustomize")
    draft.files = [
        DraftFile("ci/new dir/chainsaw-test.yaml", "kind: Test\nname: x\n"),
        DraftFile("ci/old.yaml", "a: 1\nb: 3\n", before="a: 1\nb: 2"),
        DraftFile("keep.txt", "one\ntwo\nthree", before="one\ntwo\n"),
    ]
    patch = tmp_path / "draft.patch"
    patch.write_text(draft.patch())
    git("apply", "--index", str(patch))
    assert (work / "ci" / "new dir" / "chainsaw-test.yaml").read_text() == "kind: Test\nname: x\n"
    assert (work / "ci" / "old.yaml").read_text() == "a: 1\nb: 3\n"
    assert (work / "keep.txt").read_text() == "one\ntwo\nthree"
    changes = git("diff", "--cached", "--name-status").stdout.splitlines()
    assert changes == ["A\tci/new dir/chainsaw-test.yaml", "M\tci/old.yaml", "M\tkeep.txt"]
