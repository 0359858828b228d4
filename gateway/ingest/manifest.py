"""Sample manifests: which individual each VCF sample column belongs to (DESIGN.md §2).

A UTF-8 TSV with the header ``sample_id<TAB>individual_id<TAB>sex<TAB>identifier``; ``sex`` is
``female``, ``male``, ``other`` or ``unknown``; ``identifier`` is the citizen's national
identifier as ``system|value``, or empty. Blank lines are ignored.
"""

from __future__ import annotations

from pathlib import Path

from gateway.domain.samples import Identifier, SampleLink, Sex
from gateway.errors import IngestError

HEADER = ("sample_id", "individual_id", "sex", "identifier")
_SEXES = {sex.value: sex for sex in Sex}


def read_manifest(path: Path) -> list[SampleLink]:
    """The manifest's lines in file order.

    :raises IngestError: the file cannot be read, or a line breaks the format (the message
        names the line).
    """
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark.
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"cannot read sample manifest {path}: {exc}") from exc
    if not lines or tuple(lines[0].split("\t")) != HEADER:
        raise IngestError(f"{path} line 1: the header must be {'<TAB>'.join(HEADER)}")
    links: list[SampleLink] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        link = _link(line, f"{path} line {number}")
        if link.sample_id in first_line:
            raise IngestError(
                f"{path} line {number}: sample_id {link.sample_id!r} already on line "
                f"{first_line[link.sample_id]}"
            )
        first_line[link.sample_id] = number
        links.append(link)
    return links


def _link(line: str, where: str) -> SampleLink:
    cells = [cell.strip() for cell in line.split("\t")]
    if len(cells) != len(HEADER):
        raise IngestError(f"{where}: {len(cells)} columns, expected {len(HEADER)}")
    sample_id, individual_id, sex, identifier = cells
    if not sample_id or not individual_id:
        raise IngestError(f"{where}: sample_id and individual_id must not be empty")
    sex = sex.lower()
    if sex not in _SEXES:
        raise IngestError(f"{where}: sex {sex!r} is not one of {', '.join(_SEXES)}")
    return SampleLink(sample_id, individual_id, _SEXES[sex], _identifier(identifier, where))


def _identifier(text: str, where: str) -> Identifier | None:
    if not text:
        return None
    system, separator, value = text.partition("|")
    if not separator or not system or not value:
        # The value is a citizen's identifier: name the column, never echo it.
        raise IngestError(f"{where}: identifier is not system|value")
    return Identifier(system, value)
