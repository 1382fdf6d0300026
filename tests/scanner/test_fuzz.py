"""Any content in any test file: the scan finishes, with warnings at worst."""

from __future__ import annotations

import hashlib

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.scanner import BlobRef, ParseCache, ScanConfig, scan_files

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
