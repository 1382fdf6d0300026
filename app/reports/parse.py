"""One entry point: a report's bytes in, a ``ParsedReport`` out, the format told by the content."""

from __future__ import annotations

from app.reports.chainsaw_json import parse_json
from app.reports.junit import parse_junit
from app.reports.model import MAX_BYTES, ParsedReport, ReportError
from app.reports.safexml import parse_xml

_BOM = b"\xef\xbb\xbf"


def parse_report(data: bytes) -> ParsedReport:
    """Read a chainsaw report (JSON, XML, JUNIT-TEST, JUNIT-STEP or JUNIT-OPERATION).

    Raises ReportError naming the problem: too large, empty, neither JSON nor
    XML, malformed, unsafe XML, or not a chainsaw report.
    """
    if len(data) > MAX_BYTES:
        raise ReportError(f"the report is {len(data)} bytes, more than the {MAX_BYTES // 2**20} MiB allowed", "too_large")
    kind = sniff(data)
    return parse_json(data) if kind == "json" else parse_junit(parse_xml(data))


def sniff(data: bytes) -> str:
    """``json`` or ``xml``, from the first character that is not white space."""
    head = data[:1024].removeprefix(_BOM).lstrip()
    if not head:
        raise ReportError("the report is empty")
    if head[:1] in (b"{", b"["):
        return "json"
    if head[:1] == b"<" or head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 XML starts with its byte order mark
        return "xml"
    raise ReportError("the report is neither JSON nor XML (chainsaw writes one or the other)", "unknown")
