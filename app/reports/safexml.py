"""XML from outside read with defusedxml: no DTD, so no entity expansion and no external entities.

Chainsaw's reports never carry a DOCTYPE, so refusing one (``forbid_dtd``)
costs nothing and closes every entity trick at once: an entity can only be
declared inside a DTD, and an undeclared ``&name;`` is then a plain
well-formedness error.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from app.reports.model import ReportError


def parse_xml(data: bytes) -> Element:
    """The document's root element; ReportError for a DOCTYPE, an entity or malformed XML."""
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise ReportError(
            "XML with a DOCTYPE or entities is refused (entities could expand or reach outside); chainsaw writes none",
            "unsafe",
        ) from None
    except ParseError as exc:
        line, column = exc.position
        raise ReportError(f"malformed XML: {_reason(exc)} at line {line}, column {column + 1}") from None
    except (LookupError, ValueError) as exc:  # expat: an unknown or multi-byte encoding declared
        raise ReportError(f"malformed XML: {exc} (chainsaw writes UTF-8)") from None


def _reason(exc: ParseError) -> str:
    return str(exc).split(":")[0]
