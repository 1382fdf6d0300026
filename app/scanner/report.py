"""The scan as text: the table ``sawmill scan`` prints."""

from __future__ import annotations

from app.scanner.model import Module, ScanResult


def covering_test(module: Module) -> str:
    """The test that best shows the module's status: chainsaw first, then legacy."""
    evidence = module.evidence
    if evidence.chainsaw:
        return evidence.chainsaw[0].test_file
    if evidence.legacy:
        legacy = evidence.legacy[0]
        return legacy.workflow or legacy.suite
    return "-"


def table(result: ScanResult) -> list[str]:
    """Module, status, covering test, assertions; components after; the summary line last."""
    rows = [("MODULE", "STATUS", "COVERING TEST", "ASSERTIONS")]
    for module in [*result.modules, *result.components]:
        name = f"{module.name} (component)" if module.component else module.name
        assertions = str(module.evidence.assertions) if module.evidence.chainsaw else "-"
        rows.append((name, str(module.status), covering_test(module), assertions))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip() for r in rows]
    if not result.modules and not result.components:
        lines.append("no modules found: set modules.roots or modules.marker in sawmill.yaml (see docs/scanner.md)")
    if result.warnings:
        lines.append(f"{len(result.warnings)} warning(s); --json lists them")
    lines.append(result.summary.line())
    return lines
