"""A small writer of git histories over ``git fast-import``."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import git

DEFAULT_AUTHOR = ("Sam Sawyer", "sam@example.com")
DEFAULT_START = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)


@dataclass
class Commit:
    """A commit the builder wrote; ``sha`` is known once it has been flushed."""

    mark: int
    message: str
    date: datetime
    sha: str | None = None

    def ref(self) -> str:
        return self.sha or f":{self.mark}"


class RepoBuilder:
    """Write files, commit them, branch and tag, without a checkout.

    Changes are staged with ``write``/``delete``/``rename``/``symlink`` and
    become a commit with ``commit``. Nothing reaches the repository until
    ``flush`` (or the end of a ``with`` block).
    """

    def __init__(self, path: Path | str, *, bare: bool = False, branch: str = "main") -> None:
        self.path = Path(path)
        self.bare = bare
        self.default_branch = branch
        self.repo = git.Repo.init(self.path, bare=bare, initial_branch=branch)
        self._staged: list[str] = []
        self._pending: list[str] = []
        self._pending_commits: list[Commit] = []
        self._tips: dict[str, Commit] = {}
        self._next_mark = 1
        self._clock = DEFAULT_START

    # -- staging -----------------------------------------------------------
    def write(self, path: str, content: str | bytes, *, executable: bool = False) -> RepoBuilder:
        data = content.encode() if isinstance(content, str) else content
        mode = "100755" if executable else "100644"
        self._staged.append(f"M {mode} inline {_quote(path)}\n{_data(data)}")
        return self

    def write_many(self, files: dict[str, str | bytes]) -> RepoBuilder:
        for path, content in files.items():
            self.write(path, content)
        return self

    def symlink(self, path: str, target: str) -> RepoBuilder:
        self._staged.append(f"M 120000 inline {_quote(path)}\n{_data(target.encode())}")
        return self

    def submodule(self, path: str, commit: str) -> RepoBuilder:
        """A gitlink: ``path`` becomes a submodule at ``commit`` (a sha, not read)."""
        self._staged.append(f"M 160000 {commit} {_quote(path)}\n")
        return self

    def delete(self, path: str) -> RepoBuilder:
        """Delete a file, or a whole directory."""
        self._staged.append(f"D {_quote(path)}\n")
        return self

    def rename(self, old: str, new: str) -> RepoBuilder:
        """Move a file or a whole directory."""
        self._staged.append(f"R {_quote(old)} {_quote(new)}\n")
        return self

    # -- history -----------------------------------------------------------
    def commit(
        self,
        message: str,
        *,
        date: datetime | None = None,
        author: tuple[str, str] = DEFAULT_AUTHOR,
        branch: str | None = None,
        parent: Commit | str | None = None,
        merge: Commit | str | None = None,
    ) -> Commit:
        """Turn the staged changes into a commit on ``branch`` (default: main).

        ``parent`` starts the branch from another commit (a Commit or a sha);
        ``merge`` adds a second parent.
        """
        branch = branch or self.default_branch
        date = date or self._tick()
        self._clock = max(self._clock, date)
        commit = Commit(mark=self._next_mark, message=message, date=date)
        self._next_mark += 1
        stamp = f"{int(date.timestamp())} +0000"
        name, email = author
        lines = [
            f"commit refs/heads/{branch}\n",
            f"mark :{commit.mark}\n",
            f"author {name} <{email}> {stamp}\n",
            f"committer {name} <{email}> {stamp}\n",
            _data(message.encode()),
        ]
        start = parent if parent is not None else self._tips.get(branch)
        if start is not None:
            lines.append(f"from {_ref(start)}\n")
        if merge is not None:
            lines.append(f"merge {_ref(merge)}\n")
        lines.extend(self._staged)
        lines.append("\n")
        self._staged = []
        self._pending.append("".join(lines))
        self._pending_commits.append(commit)
        self._tips[branch] = commit
        return commit

    def branch(self, name: str, at: Commit | str) -> None:
        """Point branch ``name`` at a commit (creating or moving it)."""
        self._pending.append(f"reset refs/heads/{name}\nfrom {_ref(at)}\n\n")
        self._tips[name] = at if isinstance(at, Commit) else Commit(0, "", self._clock, sha=at)

    def tag(self, name: str, at: Commit | str) -> None:
        self._pending.append(f"reset refs/tags/{name}\nfrom {_ref(at)}\n\n")

    def remote_branch(self, remote: str, name: str, at: Commit | str) -> None:
        """A remote-tracking branch, as a fetch from ``remote`` would leave it."""
        self._pending.append(f"reset refs/remotes/{remote}/{name}\nfrom {_ref(at)}\n\n")

    def flush(self) -> None:
        """Write everything pending into the repository."""
        if self._staged:
            raise ValueError("staged changes were never committed")
        if not self._pending:
            return
        with tempfile.NamedTemporaryFile(prefix="sawmill-marks-", delete=False) as marks:
            marks_path = Path(marks.name)
        try:
            subprocess.run(
                ["git", "fast-import", "--quiet", "--force", f"--export-marks={marks_path}"],
                cwd=self.path,
                input="".join(self._pending).encode("utf-8", "surrogateescape"),
                check=True,
                capture_output=True,
            )
            shas = dict(line.split() for line in marks_path.read_text().splitlines())
        finally:
            marks_path.unlink(missing_ok=True)
        for commit in self._pending_commits:
            commit.sha = shas[f":{commit.mark}"]
        self._pending = []
        self._pending_commits = []

    def checkout(self) -> None:
        """Make the work tree match the default branch (non-bare repositories)."""
        self.flush()
        if not self.bare:
            self.repo.git.checkout("-f", self.default_branch)

    def head(self, branch: str | None = None) -> Commit | None:
        return self._tips.get(branch or self.default_branch)

    def __enter__(self) -> RepoBuilder:
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        if exc_type is None:
            self.flush()
        self.repo.close()

    # -- helpers -----------------------------------------------------------
    def _tick(self) -> datetime:
        self._clock += timedelta(hours=1)
        return self._clock


def _ref(target: Commit | str) -> str:
    return target.ref() if isinstance(target, Commit) else target


def _data(payload: bytes) -> str:
    # fast-import counts bytes; surrogateescape carries non-UTF-8 blobs through intact.
    return f"data {len(payload)}\n" + payload.decode("utf-8", "surrogateescape") + "\n"


def _quote(path: str) -> str:
    if any(c in path for c in ' "\\\n') or path.startswith('"'):
        escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return path
