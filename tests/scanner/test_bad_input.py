"""Bad input never stops a scan: every case is a warning (file, reason) and the rest is scanned."""

from __future__ import annotations

import pytest

from app.repobuilder.gitops import INFRA, dump, kustomize
from app.scanner import GitSource, ParseCache, ScanConfig, scan, scan_files
from tests.scanner.conftest import MakeRepo, by_name, chainsaw, flux, module, reasons, template

SUITE = "ci/test/infra-networking"
NET = f"{INFRA}/networking-core"


def broken_repo(make_repo: MakeRepo):
    return make_repo(
        {
            **module("networking-core"),
            **module("storage-core"),
            f"{SUITE}/net.yaml": flux("net", NET),
            f"{SUITE}/invalid.yaml": "a: [1, 2\nb: }\n",
            f"{SUITE}/tabs.yaml": "spec:\n\tpath: x\n",
            f"{SUITE}/latin1.yaml": "name: caf\xe9\n".encode("latin-1"),
            f"{SUITE}/binary.yaml": b"\x00\x01\x02binary",
            f"{SUITE}/huge.yaml": b"# " + b"x" * (1024 * 1024) + b"\n",
            f"{SUITE}/loop-a.yaml": template({"assert": {"file": "net.yaml"}}, name="a", use={"template": "loop-b.yaml"}),
            f"{SUITE}/loop-b.yaml": template({"assert": {"file": "net.yaml"}}, name="b", use={"template": "loop-a.yaml"}),
            f"{SUITE}/chainsaw-test.yaml": chainsaw(
                {
                    "try": [
                        {"apply": {"file": "net.yaml"}},
                        {"apply": {"file": "invalid.yaml"}},
                        {"apply": {"file": "tabs.yaml"}},
                        {"apply": {"file": "latin1.yaml"}},
                        {"apply": {"file": "binary.yaml"}},
                        {"apply": {"file": "huge.yaml"}},
                        {"apply": {"file": "link.yaml"}},
                        {"apply": {"file": "../../../../etc/passwd"}},
                        {"apply": {"file": "gone.yaml"}},
                    ]
                },
                {"use": {"template": "loop-a.yaml"}},
                {"use": {"template": "../../../../../tmp/template.yaml"}},
            )
            + "---\n"
            + chainsaw(name="empty"),
            "ci/test/infra-storage/chainsaw-test.yaml": "spec: [unclosed\n",
            # the same cases in a legacy suite and a kuttl TestSuite
            "ci/test/infra-security/kustomization.yaml": kustomize(["../../../../outside.yaml", "gone.yaml", "link.yaml"]),
            "kuttl-test.yaml": dump({"apiVersion": "kuttl.dev/v1beta1", "kind": "TestSuite", "testDirs": ["../elsewhere"]}),
        },
        symlinks={f"{SUITE}/link.yaml": "/etc/passwd", "ci/test/infra-security/link.yaml": "../infra-networking/net.yaml"},
    )


def test_each_bad_input_is_a_warning_and_the_scan_goes_on(make_repo: MakeRepo) -> None:
    result = scan(broken_repo(make_repo))
    found = reasons(result)
    test = f"{SUITE}/chainsaw-test.yaml"
    assert found[f"{SUITE}/invalid.yaml"][0].startswith("invalid YAML at line 2")
    assert found[f"{SUITE}/tabs.yaml"] == ["tab character in indentation at line 2"]
    assert found[f"{SUITE}/latin1.yaml"] == ["not UTF-8 (byte 9)"]
    assert found[f"{SUITE}/binary.yaml"] == ["binary file"]
    assert found[f"{SUITE}/huge.yaml"] == ["file over 1 MiB, not read"]
    assert found[f"{SUITE}/link.yaml"] == ["symlink, not followed"]
    assert sorted(found[test]) == [
        "Test empty has no steps",
        f"missing file: {SUITE}/gone.yaml",
        "reference leaves the repository: ../../../../../tmp/template.yaml",
        "reference leaves the repository: ../../../../etc/passwd",
    ]
    assert found[f"{SUITE}/loop-a.yaml"] == [f"template cycle: {SUITE}/loop-a.yaml -> {SUITE}/loop-b.yaml -> {SUITE}/loop-a.yaml"]
    assert found["ci/test/infra-storage/chainsaw-test.yaml"][0].startswith("invalid YAML")
    assert sorted(found["ci/test/infra-security/kustomization.yaml"]) == [
        "missing file: ci/test/infra-security/gone.yaml",
        "reference leaves the repository: ../../../../outside.yaml",
    ]
    assert found["ci/test/infra-security/link.yaml"] == ["symlink, not followed"]
    assert found["kuttl-test.yaml"] == ["reference leaves the repository: ../elsewhere"]
    # the good parts still count
    modules = by_name(result)
    assert str(modules["networking-core"].status) == "migrated"
    assert str(modules["storage-core"].status) == "untested"


def test_symlinks_and_huge_files_are_never_read(make_repo: MakeRepo) -> None:
    repo = broken_repo(make_repo)
    with GitSource(repo) as source:
        files = source.tree(source.resolve().sha)
        read: list[str] = []

        def reader(sha: str) -> bytes:
            read.append(sha)
            return source.read(sha)

        def read_many(shas: list[str]) -> dict[str, bytes]:
            read.extend(shas)
            return source.read_many(shas)

        scan_files(files, ParseCache(reader), ScanConfig())
        assert files[f"{SUITE}/link.yaml"].sha not in read
        assert files[f"{SUITE}/huge.yaml"].sha not in read
        assert files[f"{SUITE}/net.yaml"].sha in read
        assert len(read) == len(set(read))  # each blob read once
        # the same through the bulk reader a scan prefetches with
        read.clear()
        blobs = ParseCache(reader, read_many)
        blobs.prefetch(list(files.values()))
        scan_files(files, blobs, ScanConfig())
        assert files[f"{SUITE}/link.yaml"].sha not in read
        assert files[f"{SUITE}/huge.yaml"].sha not in read
        assert files[f"{SUITE}/net.yaml"].sha in read


def test_a_huge_blob_without_a_known_size_is_read_but_not_parsed(make_repo: MakeRepo) -> None:
    repo = make_repo({"big.yaml": b"# " + b"x" * (1024 * 1024 + 10)})
    with GitSource(repo) as source:
        ref = source.tree(source.resolve().sha)["big.yaml"]
        sizeless = type(ref)(ref.mode, ref.sha)  # as a git log --raw walk knows it
        assert ParseCache(source.read).parse(sizeless).problem == "file over 1 MiB, not read"


def test_a_file_name_that_is_not_utf8_is_scanned_stored_and_printed(make_repo: MakeRepo, tmp_path) -> None:
    """Git paths are bytes: a Latin-1 module folder must not crash the store, the history or the JSON."""
    import json

    from typer.testing import CliRunner

    from app.cli import cli
    from app.store.db import migrate

    odd = "apps/subsystems/caf\udce9"  # b"caf\xe9": written to git as raw bytes
    repo = make_repo({**module("networking-core"), f"{odd}/kustomization.yaml": kustomize([]),
                      f"{SUITE}/t\udce9st.yaml": "a: 1\n"})  # fmt: skip
    url = f"sqlite:///{tmp_path / 'odd.db'}"
    migrate(url)
    result = CliRunner().invoke(cli, ["scan", str(repo), "--json"], env={"SAWMILL_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    paths = [m["path"] for m in json.loads(result.output)["modules"]]
    assert "apps/subsystems/caf\ufffd" in paths  # the bad byte shown as U+FFFD, the same in every reader
    history = CliRunner().invoke(cli, ["history", str(repo), "--json"], env={"SAWMILL_DATABASE_URL": url})
    assert history.exit_code == 0, history.output
    assert "apps/subsystems/caf\ufffd" in {e["module"] for e in json.loads(history.output)["events"]}


@pytest.mark.parametrize("symlink_first", [True, False])
def test_a_regular_file_holding_a_symlinks_target_is_read_as_itself(make_repo: MakeRepo, symlink_first: bool) -> None:
    """Git stores a symlink as a blob of its target's path, so a regular file holding those very
    bytes is the same blob. The symlink is never read; the regular file is, in either order."""
    repo = make_repo({"ci/test/a/plain.yaml": "net.yaml"}, symlinks={"ci/test/a/link.yaml": "net.yaml"})
    with GitSource(repo) as source:
        files = source.tree(source.resolve().sha)
        link, plain = files["ci/test/a/link.yaml"], files["ci/test/a/plain.yaml"]
        assert link.sha == plain.sha and link.is_symlink and not plain.is_symlink
        blobs = ParseCache.over(source, shared=True)
        blobs.prefetch([link, plain])
        order = [link, plain] if symlink_first else [plain, link]
        parsed = {ref.mode: blobs.parse(ref) for ref in order}
        raw = {ref.mode: blobs.raw(ref) for ref in order}
    assert parsed[link.mode].problem == "symlink, not followed" and raw[link.mode] == "symlink, not followed"
    assert parsed[plain.mode].docs == ("net.yaml",) and raw[plain.mode] == b"net.yaml"
