"""Section narratives: generated XHTML (FHIR ``Narrative.div``), every value escaped.

Record text is patient data from another system: it is escaped with :func:`html.escape` and
characters XML 1.0 forbids (control characters) become U+FFFD, so no source can inject markup
or make the document ill-formed. Only the basic elements FHIR allows are used (``div``, ``p``,
``table``, ``thead``, ``tbody``, ``tr``, ``th``, ``td``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from gateway.fhir.datatypes import Json

XHTML = "http://www.w3.org/1999/xhtml"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def escape(value: str) -> str:
    return html.escape(_NOT_XML.sub("\ufffd", value), quote=True)


def paragraph(value: str) -> str:
    return f"<p>{escape(value)}</p>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str | None]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell or '')}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def narrative(*parts: str) -> Json:
    """A ``generated`` narrative whose div holds ``parts`` (already escaped markup)."""
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{"".join(parts)}</div>'}
