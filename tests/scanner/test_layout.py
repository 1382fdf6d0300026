"""A layout kept up to date path by path holds what a layout built at once on the same files holds."""

from __future__ import annotations

import random

import pytest

from app.scanner.config import ScanConfig
from app.scanner.layout import Layout

FOLDERS = ["infrastructure/subsystems/net", "infrastructure/subsystems/net/app", "apps/subsystems/media",
           "components/sso", "ci/test/infra-net", "ci/test/chainsaw", ".github/workflows", "clusters/prod",
           "docs", "docs/old", "policies/pod/p1", "policies/pod/p1/.chainsaw-test", "policies/other/p2", ""]  # fmt: skip
NAMES = ["kustomization.yaml", "chainsaw-test.yaml", "00-install.yaml", "01-assert.yaml", "kuttl-test.yaml",
         "helmrelease.yaml", "README.md", "artifacthub-pkg.yml", "flux.yaml", "legacy.yml"]  # fmt: skip
CONFIGS = {
    "default": ScanConfig(exclude=("docs",)),
    "marker": ScanConfig(marker="artifacthub-pkg.yml", exclude=("docs/old", "**/README.md")),
    "workflows at the root": ScanConfig(workflows="", exclude=("**/README.md",)),  # `workflows: /`: no path is under "/"
}

INDEXES = ("paths", "excluded", "folders", "children", "root_units", "marker_units", "chainsaw", "steps",
           "workflows", "yaml", "candidates")  # fmt: skip


def indexes(layout: Layout) -> dict[str, object]:
    return {name: getattr(layout, name) for name in INDEXES}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("seed", range(6))
def test_updates_path_by_path_agree_with_a_layout_built_at_once(config: ScanConfig, seed: int) -> None:
    rng = random.Random(seed)
    every = [f"{folder}/{name}".lstrip("/") for folder in FOLDERS for name in NAMES]
    kept = Layout(config)
    files: dict[str, object] = {}
    for _ in range(40):
        for path in rng.sample(every, rng.randint(1, 25)):  # add some, drop some, each round
            if path in files:
                del files[path]
            else:
                files[path] = object()
        kept.update(dict(files))
        assert indexes(kept) == indexes(_built(config, files))
    assert kept.marker_units or config.marker is None  # the marker rule found modules along the way


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("seed", range(4))
def test_a_layout_holds_what_the_configs_own_rules_say_of_each_path(config: ScanConfig, seed: int) -> None:
    """The indexes against the rules read one path at a time (``ScanConfig.excluded``,
    ``is_marker``, the names), not against another layout: a fault shared by the layout's
    ways of building (a folder's paths are judged together) would pass the test above."""
    rng = random.Random(seed)
    every = [f"{folder}/{name}".lstrip("/") for folder in FOLDERS for name in NAMES]
    files = dict.fromkeys(rng.sample(every, rng.randint(20, len(every))), object())
    layout = _built(config, files)
    excluded = {path for path in files if config.excluded(path)}
    kept = files.keys() - excluded
    assert layout.excluded == excluded and layout.paths == kept
    assert set(layout.marker_units) == {path.rpartition("/")[0] for path in kept if config.is_marker(path) and "/" in path}
    assert layout.chainsaw == {path for path in kept if path.endswith("/chainsaw-test.yaml") or path == "chainsaw-test.yaml"}
    yaml = {path for path in kept if path.endswith((".yaml", ".yml"))} - layout.chainsaw
    assert layout.yaml == yaml and layout.steps == {path for path in yaml if path.rpartition("/")[2][:2].isdigit()}
    assert layout.workflows == {path for path in yaml if path.startswith(f"{config.workflows}/")}
    assert layout.folders == {path.rsplit("/", n)[0] for path in kept for n in range(1, path.count("/") + 1)}
    assert all(isinstance(judged, bool) for judged in layout._excluded_folders.values())  # None reads "not judged"


def test_a_folder_goes_with_its_last_path_and_an_excluded_folder_keeps_out_what_is_under_it() -> None:
    layout = Layout(ScanConfig(exclude=("docs",)))
    layout.update({"infrastructure/subsystems/net/app/hr.yaml": 1, "docs/a/b.yaml": 1})
    assert layout.folders == {"infrastructure", "infrastructure/subsystems", "infrastructure/subsystems/net",
                              "infrastructure/subsystems/net/app"}  # fmt: skip
    assert layout.excluded == {"docs/a/b.yaml"} and layout.root_units == {"infrastructure/subsystems/net": False}
    layout.update({"docs/a/b.yaml": 1})
    assert layout.folders == set() and layout.children == {} and layout.root_units == {}
    assert layout.moved_units == {"infrastructure/subsystems/net"}


def _built(config: ScanConfig, files: dict[str, object]) -> Layout:
    layout = Layout(config)
    layout.update(dict(files))
    return layout


def test_a_name_ending_in_a_line_break_is_no_yaml_to_the_layout_or_the_read_ahead() -> None:
    """Git allows a line break at the end of a name; ``$`` in a regular expression matches before
    one, ``str.endswith`` does not. Every judge of a name answers alike: neither YAML nor a step."""
    from app.scanner.core import likely_reads, relevant
    from app.scanner.source import BlobRef

    odd, plain = "ci/test/infra-net/01-assert.yaml\n", "ci/test/infra-net/01-assert.yaml"
    files = {odd: BlobRef("100644", "1" * 40), plain: BlobRef("100644", "2" * 40)}
    config = ScanConfig()
    layout = Layout(config)
    layout.update(files)
    assert layout.steps == {plain} and layout.yaml == {plain}
    assert likely_reads(files, config) == [files[plain]]
    assert not relevant("clusters/prod/flux.yaml\n", config) and relevant("clusters/prod/flux.yaml", config)


def test_the_read_ahead_passes_over_marker_files_a_scan_never_reads() -> None:
    """A marker file makes its folder a module and is not read there: a walk over a policy
    repository's history would otherwise fetch every version of every marker file. One at the
    repository's root marks nothing and may hold a kuttl TestSuite, so it is still read ahead."""
    from app.scanner.core import likely_reads
    from app.scanner.source import BlobRef

    names = ["best/p1/artifacthub-pkg.yml", "best/p1/policy.yaml", "best/p1/.chainsaw-test/chainsaw-test.yaml",
             "artifacthub-pkg.yml", "kuttl-test.yaml"]  # fmt: skip
    files = {name: BlobRef("100644", f"{i:040d}") for i, name in enumerate(names)}
    config = ScanConfig(module_roots=(), component_roots=(), marker="artifacthub-pkg.yml")
    assert [ref.sha for ref in likely_reads(files, config)] == [files[n].sha for n in names if n != names[0]]


def test_an_update_s_reach_is_its_changed_paths_and_every_folder_above_them() -> None:
    """What a memoized analysis that asked "is this a folder?" is checked against: a path added
    or removed deep down can make or unmake any folder above it, up to the root."""
    rng = random.Random(5)
    for _ in range(300):
        layout, files = Layout(ScanConfig()), {}
        layout.update(files)
        for _ in range(4):
            changed = {"/".join(rng.choice("abc") for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 6))}
            for path in changed:  # a file may stand where another's folder was: git allows it across commits
                files.pop(path, None) if path in files else files.__setitem__(path, object())
            layout.update(files, changed)
            parts = [path.split("/") for path in changed]
            above = {"/".join(names[:k]) for names in parts for k in range(len(names))}  # "" is the root
            assert layout.delta_reach == changed | above
