"""``sawmill import``, ``export``, ``log``, ``pin``, ``unpin`` in process: output, files, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from hashlib import sha256
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.cli import cli
from app.config import get_settings
from tests.progress.conftest import SEED, dump_store

Sawmill = Callable[..., Result]


@pytest.fixture
def sawmill(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sawmill]:
    monkeypatch.setenv("SAWMILL_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, [str(a) for a in args])
    get_settings.cache_clear()


def test_import_then_export_to_stdout_and_to_a_file(sawmill: Sawmill, tmp_path: Path) -> None:
    result = sawmill("import", SEED, "--who", "alice")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"imported {SEED}: 65 created, 0 updated, 0 removed\n"
    exported = sawmill("export")
    assert exported.exit_code == 0 and exported.stdout == SEED.read_text()
    out = tmp_path / "out.md"
    assert sawmill("export", "-o", out).exit_code == 0
    assert out.read_bytes() == SEED.read_bytes()


def test_an_entry_line_with_a_typo_is_imported_with_a_warning_naming_the_line(sawmill: Sawmill, tmp_path: Path) -> None:
    doc = tmp_path / "typo.md"
    doc.write_text(SEED.read_text().replace("  - [ ] storage-core module\n", "  - [ ] storage-core modul\n"
                                            "  - [ ] the storage modules\n"))
    result = sawmill("import", doc)
    assert result.exit_code == 0
    assert result.stderr == (f"warning: {doc}: line 14: 'the storage modules' is not read as a migration entry; "
                             "entries read 'X module', 'X-core/extra modules' or 'X app module'\n")  # fmt: skip
    assert sawmill("export").stdout == doc.read_text()


def test_pin_unpin_and_the_log(sawmill: Sawmill) -> None:
    sawmill("import", SEED, "--who", "alice")
    pinned = sawmill("pin", "harbor app module", "--reason", "being retired", "--until", "2999-01-01", "--who", "erin")
    assert pinned.exit_code == 0 and pinned.stdout == "pinned 'harbor app module' until 2999-01-01\n"
    assert "  - [x] harbor app module (pinned until 2999-01-01: being retired)\n" in sawmill("export").stdout
    assert sawmill("unpin", "harbor app module", "--who", "erin").exit_code == 0
    lines = sawmill("log").stdout.splitlines()
    assert [line.split("  ")[1:4] for line in lines] == [
        ["erin", "entry.unpin", "entry:11"], ["erin", "entry.pin", "entry:11"], ["alice", "import", "document"]]  # fmt: skip
    assert lines[1].endswith('  pin_reason: - -> "being retired"; pin_until: - -> "2999-01-01"; pin_done: - -> true; '
                             'pinned_by: - -> "erin"; done: false -> true')  # fmt: skip
    assert lines[0].endswith('  pin_reason: "being retired" -> -; pin_until: "2999-01-01" -> -; pin_done: true -> -; '
                             'pinned_by: "erin" -> -')  # fmt: skip
    assert lines[2].endswith('; source: "' + str(SEED) + '"; sha256: ' + sha256(SEED.read_bytes()).hexdigest()[:12]
                             + '; result: "65 created, 0 updated, 0 removed"')  # fmt: skip
    assert len(sawmill("log", "-n", "1").stdout.splitlines()) == 1
    full = [json.loads(line) for line in sawmill("log", "--json").stdout.splitlines()]
    assert full[1]["after"]["pin_reason"] == "being retired" and full[2]["after"]["changes"] == []
    quiet = sawmill("log", "--target", "blocker:99")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "no changes recorded for blocker:99\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "error: {file}: the document is empty\n"),
        (b"# T\n\xff\n", "error: {file}: line 2: not UTF-8 (byte 4); save the document as UTF-8\n"),
        (b"# T\n- [ ] a\n - b\n", "error: {file}: line 3: a sub-point indented 1 space; sub-points of the line above "
                                  "are '- ' lines indented exactly 2 spaces\n"),
    ],
)  # fmt: skip
def test_bad_files_are_one_line_and_change_nothing(
    sawmill: Sawmill, db_url: str, tmp_path: Path, content: bytes, message: str
) -> None:
    sawmill("import", SEED)
    before = dump_store(db_url)
    bad = tmp_path / "bad.md"
    bad.write_bytes(content)
    result = sawmill("import", bad)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", message.format(file=bad))
    assert dump_store(db_url) == before


def test_other_user_errors_are_one_line(sawmill: Sawmill, tmp_path: Path) -> None:
    assert sawmill("export").stderr == "error: no progress document has been imported yet (sawmill import FILE)\n"
    assert sawmill("import", tmp_path / "nope.md").stderr == f"error: cannot read {tmp_path / 'nope.md'}: No such file or directory\n"
    sawmill("import", SEED)
    assert sawmill("pin", "ghost module", "--reason", "x").stderr == "error: no migration entry 'ghost module'\n"
    assert sawmill("pin", "1", "--reason", "x", "--until", "soon").stderr == "error: --until 'soon' is not a date (YYYY-MM-DD)\n"
    assert sawmill("unpin", "1").stderr == "error: entry 'networking-core/extra modules' is not pinned\n"


def test_a_capital_x_tick_is_imported_as_text_with_a_warning_naming_the_line(sawmill: Sawmill, tmp_path: Path) -> None:
    doc = tmp_path / "capital.md"
    doc.write_text(SEED.read_text().replace("  - [ ] storage-core module\n", "  - [X] storage-core module\n")
                   .replace("- [x] FluxCD integration complete\n", "- [X] FluxCD integration complete\n"))  # fmt: skip
    result = sawmill("import", doc)
    assert result.exit_code == 0
    assert result.stderr == (f"warning: {doc}: line 13: '[X]' is kept as text, not read as a tick; write '[x]'\n"
                             f"warning: {doc}: line 31: '[X]' is kept as text, not read as a tick; write '[x]'\n")  # fmt: skip
    assert sawmill("export").stdout == doc.read_text()
