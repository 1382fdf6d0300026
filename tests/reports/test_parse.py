"""The pure reader: bytes in, a ParsedReport out, the format told by the content."""

from __future__ import annotations

import json

import pytest

from app.reports import FAILED, PASSED, SKIPPED, ReportError, parse_report
from app.reports.match import TestIndex, match_tests, normalise
from app.reports.model import Outcome

from .samples import WRITERS, Case, failing, passing

CASES = [
    failing("ci/test/a", "a", "boom"),
    Case("ci/test/a", "a-skipped", skipped=True, concurrent=True),
    passing("ci/test/b", "b"),
]


@pytest.mark.parametrize("kind", list(WRITERS))
def test_each_format_is_told_by_its_content(kind: str) -> None:
    parsed = parse_report(WRITERS[kind](CASES))
    assert parsed.format == kind and parsed.name == "chainsaw-report"
    assert [(t.name, t.folder, t.status) for t in parsed.tests] == [
        ("a", "ci/test/a", FAILED), ("a-skipped", "ci/test/a", SKIPPED), ("b", "ci/test/b", PASSED),
    ]  # fmt: skip
    assert parsed.tests[0].error == "boom" and parsed.tests[0].duration == 180.0


def test_the_json_report_says_the_most() -> None:
    parsed = parse_report(WRITERS["JSON"](CASES))
    failed, skipped = parsed.tests[0], parsed.tests[1]
    assert (failed.failed_step, failed.failed_operation, failed.operation_type) == ("Validate networking-core", "assert-2", "assert")
    assert failed.namespace == "chainsaw-demo" and failed.started_at.year == 2026
    assert skipped.concurrent is True and failed.concurrent is None


def test_go_zero_times_and_missing_fields_are_read_as_unknown() -> None:
    body = {"name": "r", "startTime": "0001-01-01T00:00:00Z", "endTime": "0001-01-01T00:00:00Z",
            "tests": [{"name": "t", "startTime": "0001-01-01T00:00:00Z", "endTime": "0001-01-01T00:00:00Z"}]}  # fmt: skip
    parsed = parse_report(json.dumps(body).encode())
    assert parsed.started_at is None and parsed.tests[0].duration is None and parsed.tests[0].folder == ""
    assert parsed.tests[0].status == PASSED  # no steps failed


def test_a_junit_error_counts_as_a_failure_and_text_stands_for_a_missing_message() -> None:
    body = b"""<testsuites name="r"><testsuite name="ci/test/a"><testcase name="a" classname="a" time="1.5">
    <error>panic: nil map</error></testcase></testsuite></testsuites>"""
    test = parse_report(body).tests[0]
    assert (test.status, test.error, test.duration) == (FAILED, "panic: nil map", 1.5)


def test_a_junit_operation_step_whose_name_holds_a_slash_keeps_it() -> None:
    body = WRITERS["JUNIT-OPERATION"]([failing("ci/test/a", "a", "boom", step="Networking / validate", op="assert-2")])
    test = parse_report(body).tests[0]
    assert (test.failed_step, test.failed_operation) == ("Networking / validate", "assert-2")


def test_a_byte_order_mark_and_a_declaration_are_fine() -> None:
    body = b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n' + WRITERS["JUNIT-TEST"](CASES)
    assert parse_report(body).format == "JUNIT-TEST"


@pytest.mark.parametrize(
    ("body", "kind", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "malformed", "nested too deeply"),
        (b"[1, 2]", "unknown", "not a chainsaw JSON report"),
        (b'{"name": "my-app", "version": "1.0.0"}', "unknown", "not a chainsaw JSON report"),  # a package.json
        (b'{"name": "r", "tests": {"a": 1}}', "unknown", "tests is not a list"),
        (b'{"name": "r", "tests": [42]}', "unknown", "tests[0]"),
        (b"\xff\xfe<\x00", "malformed", "malformed XML"),
        (b"<testsuites><testcase name='&undefined;'/></testsuites>", "malformed", "undefined entity"),
        (b'<!DOCTYPE x SYSTEM "http://example.com/x.dtd"><testsuites/>', "unsafe", "DOCTYPE"),
        (b"   \n ", "malformed", "empty"),
        (b"x" * (10 * 2**20 + 1), "too_large", "10 MiB"),
    ],
)
def test_what_cannot_be_read_is_refused_with_its_reason(body: bytes, kind: str, says: str) -> None:
    with pytest.raises(ReportError) as refused:
        parse_report(body)
    assert refused.value.kind == kind and says in refused.value.message


def test_folders_are_normalised_as_the_scan_writes_paths() -> None:
    assert normalise("./ci/test/a/") == "ci/test/a"
    assert normalise("ci\\test\\a") == "ci/test/a"
    assert normalise(".") == ""


def test_the_index_prefers_the_test_name_inside_a_folder_and_the_longest_folder() -> None:
    index = TestIndex.of([
        ("m1", [{"test_file": "ci/test/a/chainsaw-test.yaml", "name": "one"}]),
        ("m2", [{"test_file": "ci/test/a/other-test.yaml", "name": "two"}]),
        ("m3", [{"test_file": "test/a/chainsaw-test.yaml", "name": "three"}]),
    ])  # fmt: skip
    assert index.modules("/runner/ci/test/a", "two") == {"m2"}
    assert index.modules("ci/test/a", "unknown") == {"m1", "m2"}  # the folder decides; the name only picks
    assert index.modules("/elsewhere/test/a", "three") == {"m3"}
    assert index.modules("", "one") == {"m1"}
    assert index.modules("ci/test/zzz", "one") == set()


def test_a_folder_that_is_the_tail_of_two_test_folders_matches_neither() -> None:
    index = TestIndex.of([
        ("apps/podinfo", [{"test_file": "ci/test/apps/podinfo/chainsaw-test.yaml", "name": "podinfo"}]),
        ("infra/podinfo", [{"test_file": "ci/test/infra/legacy/podinfo/chainsaw-test.yaml", "name": "podinfo"}]),
    ])  # fmt: skip
    assert index.modules("podinfo", "podinfo") == set()  # run from inside ci/test/apps or ci/test/infra/legacy?
    assert index.modules("apps/podinfo", "podinfo") == {"apps/podinfo"}  # a tail of one folder only
    assert index.modules("/runner/work/ci/test/infra/legacy/podinfo", "podinfo") == {"infra/podinfo"}


def test_through_the_suite_a_test_run_elsewhere_must_be_one_of_its_tests() -> None:
    index = TestIndex.of([
        ("net/core", [{"test_file": "ci/test/net/chainsaw-test.yaml", "name": "net-core"}]),
        ("net/extra", [{"test_file": "ci/test/net/extra-test.yaml", "name": "net-extra"}]),
        ("storage", [{"test_file": "ci/test/storage/chainsaw-test.yaml", "name": "storage"}]),
    ])  # fmt: skip
    tests = [Outcome("net-extra", "/tmp/copied/net", PASSED), Outcome("media", "/tmp/copied/media", FAILED),
             Outcome("anything", "", PASSED)]  # fmt: skip
    assert match_tests(tests, index, suite="ci/test/net") == [["net/extra"], [], ["net/core", "net/extra"]]
    assert match_tests([Outcome("other", "/tmp/copied/x", PASSED)], index, suite="ci/test/storage") == [["storage"]]
