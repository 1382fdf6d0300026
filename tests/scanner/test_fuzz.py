"""Any content in any test file: the scan finishes, with warnings at worst."""

from __future__ import annotations

import hashlib
import json
import re
import warnings

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.scanner import BlobRef, ParseCache, ScanConfig, scan_files
from app.scanner.globs import GlobError, glob_match
from tests.scanner.conftest import alias_bomb, within

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
keys = st.sampled_from(
    ["apiVersion", "kind", "spec", "steps", "try", "catch", "finally", "cleanup", "use", "template", "file",
     "resource", "apply", "assert", "error", "script", "path", "resources", "testDirs", "test_path",
     "success_conditions", "metadata", "name"]
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5), max_leaves=25)
kinds = st.sampled_from(
    [("chainsaw.kyverno.io/v1alpha1", "Test"), ("chainsaw.kyverno.io/v1alpha1", "StepTemplate"),
     ("kuttl.dev/v1beta1", "TestSuite"), ("kuttl.dev/v1beta1", "TestStep"),
     ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"), ("kustomize.config.k8s.io/v1beta1", "Kustomization")]
)
documents = st.builds(lambda kind, body: {"apiVersion": kind[0], "kind": kind[1], **body}, kinds, st.dictionaries(keys, values, max_size=5))
contents = st.one_of(
    st.lists(documents, min_size=1, max_size=3).map(lambda docs: yaml.safe_dump_all(docs).encode()),
    st.binary(max_size=64),
)
PATHS = [
    "ci/test/suite/chainsaw-test.yaml",
    "ci/test/suite/kustomization.yaml",
    "ci/test/suite/a.yaml",
    "ci/test/suite/00-install.yaml",
    "ci/test/chainsaw/steps/t.yaml",
    ".github/workflows/test.yaml",
    "kuttl-test.yaml",
    "infrastructure/subsystems/x-core/.chainsaw-test/chainsaw-test.yaml",
    "infrastructure/subsystems/x-core/kustomization.yaml",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(contents, min_size=len(PATHS), max_size=len(PATHS)))
@example([b"apiVersion: kuttl.dev/v1beta1\nkind: TestSuite\ntestDirs: 5\n"] * len(PATHS))
@example([b"apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nspec: {steps: [1, {try: 3, use: [], catch: [{apply: 2}]}]}\n"] * len(PATHS))
def test_any_content_scans(blobs: list[bytes]) -> None:
    store = {hashlib.sha1(b).hexdigest(): b for b in blobs}
    files = {path: BlobRef("100644", hashlib.sha1(b).hexdigest(), len(b)) for path, b in zip(PATHS, blobs)}
    modules, _components, warnings = scan_files(files, ParseCache(store.__getitem__), ScanConfig())
    assert [m.path for m in modules] == ["infrastructure/subsystems/x-core"]
    assert all(w.path and w.reason for w in warnings)


# -- hostile input: alias bombs anywhere, globs of any shape ---------------------

ALWAYS_READ = [  # a bomb here is always parsed, so it must always be named
    ".github/workflows/test.yaml",
    "ci/test/suite/chainsaw-test.yaml",
    "ci/test/suite/kustomization.yaml",
    "infrastructure/subsystems/x-core/.chainsaw-test/chainsaw-test.yaml",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=kinds,
    key=keys,
    where=st.sampled_from(PATHS),
    levels=st.integers(5, 40),
    width=st.integers(6, 12),
    in_string=st.booleans(),
)
def test_an_alias_bomb_in_any_file_under_any_key_is_refused_fast(kind, key, where, levels, width, in_string) -> None:
    bomb = alias_bomb(min(levels, 26), width)
    top = "abcdefghijklmnopqrstuvwxyz"[min(levels, 26) - 1]
    head = f"apiVersion: {kind[0]}\nkind: {kind[1]}\n"
    if in_string:  # YAML inside a string input (a workflow's success_conditions), read a second time
        body = f"{head}test_path: ci/test/suite\nsuccess_conditions: {json.dumps(f'{bomb}x: *{top}')}\n"
    else:
        body = f"{bomb}{head}{key}: *{top}\n"
    blobs = [b"a: 1\n"] * len(PATHS)
    blobs[PATHS.index(where)] = body.encode()
    store = {hashlib.sha1(b).hexdigest(): b for b in blobs}
    files = {path: BlobRef("100644", hashlib.sha1(b).hexdigest(), len(b)) for path, b in zip(PATHS, blobs)}
    with within(2):
        _modules, _components, warnings = scan_files(files, ParseCache(store.__getitem__), ScanConfig())
    named = [w.reason for w in warnings if w.path == where and "YAML alias" in w.reason]
    if in_string:
        assert bool(named) == (where == ".github/workflows/test.yaml"), warnings
    else:
        assert named == [w.reason for w in warnings if w.path == where]  # refused whole: nothing else said of it
        assert named or where not in ALWAYS_READ, warnings


def _reference(pattern: str) -> re.Pattern[str]:
    """The glob's meaning as one regular expression (what the scanner compiled before it
    matched in linear time): the same answers, only slower on repeated stars."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and pattern.find("]", i + 1) != -1:
            end = pattern.find("]", i + 1)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "[[]": the character, as before
        return re.compile("".join(out), re.DOTALL)


glob_parts = st.sampled_from(["a", "b", "/", "*", "**", "**/", "?", "[ab]", "[!a]", "[b-a]", "[", "]", "."])
path_text = st.text(alphabet="ab/.", max_size=14)


@settings(max_examples=400, deadline=None)
@given(st.lists(glob_parts, max_size=8).map("".join), path_text)
@example("**/**/**/a", "b/b/a")
@example("a/**", "a")
@example("*/**/b", "a/b")
def test_globs_mean_what_they_meant(pattern: str, path: str) -> None:
    try:
        expected = _reference(pattern).fullmatch(path) is not None
    except re.error:  # a class that cannot be read is refused by name
        with pytest.raises(GlobError):
            glob_match(pattern, path)
        return
    try:
        got = glob_match(pattern, path)
    except GlobError:  # an empty class: refused, where the expression could run on to the next "]" by accident
        assert "[]" in pattern or "[!]" in pattern
        return
    assert got == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["**/", "**/", "**/", "*/", "d/", "*", "**", "x", "?"]), min_size=4, max_size=24)
       .map("".join), st.integers(20, 120))  # fmt: skip
@example("**/" * 5, 60)  # 28 s for one match
@example("**/" * 12, 120)  # no end
@example("**/d/" * 6, 100)
def test_any_glob_matches_a_deep_folder_in_linear_time(pattern: str, depth: int) -> None:
    path = "/".join(["d"] * depth) + "/y.yml"
    with within(0.5):
        glob_match(pattern + "x.yml", path)
        glob_match(pattern, path)
