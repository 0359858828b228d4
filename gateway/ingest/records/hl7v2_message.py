"""HL7 v2 bytes to a message whose fields can be read: character set, separators, one message.

The bytes are decoded in the character set MSH-18 declares (HL7 table 0211, or the profile's
default when it is empty; a BOM overrides both), segments are split on CR, LF or CRLF, an
MLLP frame and the batch envelope (FHS/BHS/BTS/FTS) are dropped, and MSH-2 is checked before
python-hl7 splits the message, since python-hl7 takes whatever it finds there at face value.

Field values are unescaped here rather than with python-hl7's ``unescape``: that one logs the
whole field (patient data) when it meets an escape it does not know.

Locations follow the HAPI terser, 1-based: ``PID-3`` is a field, ``PID-3(2)`` its second
repetition, ``OBX(2)-5`` the fifth field of the second OBX (the index is shown only when the
message has more than one segment of that kind).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import hl7

from gateway.errors import RecordError
from gateway.ingest.records.text import decode_text

__all__ = ["CHARSETS", "Rep", "Segment", "V2Message", "parse_message"]

# HL7 table 0211 (the ones Python decodes), upper-cased: MSH-18 -> codec.
CHARSETS: Mapping[str, str] = {
    "ASCII": "ascii",
    **{f"8859/{n}": f"iso8859-{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 15)},
    "UNICODE UTF-8": "utf-8",
}

Rep = tuple[tuple[str, ...], ...]  # one repetition: its components, each its subcomponents

_BREAK = re.compile(rb"\r\n|\r|\n")
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_ENVELOPE = frozenset({"FHS", "BHS", "BTS", "FTS"})
_BOMS = {b"\xef\xbb\xbf": "utf-8", b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_MLLP_START, _MLLP_END = b"\x0b", b"\x1c"
_NULL = '""'  # HL7's explicit null: "delete this value"; nothing to read
# No HL7 value holds a control character (the table 0211 sets read here need no ESC); a NUL
# would reach the stored record (and PostgreSQL refuses it in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class _Separators:
    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str
    codec: str

    def unescape(self, value: str) -> str:
        """``value`` with HL7 escapes resolved and outer spaces dropped; ``""`` is empty."""
        value = value.strip()
        if value == _NULL:
            return ""
        if self.escape not in value:
            return value
        parts = value.split(self.escape)
        if len(parts) % 2 == 0:  # an escape that is never closed: keep it as written
            parts[-2:] = [self.escape.join(parts[-2:])]
        text = (part if n % 2 == 0 else self._sequence(part) for n, part in enumerate(parts))
        return "".join(text).strip()

    def _sequence(self, name: str) -> str:
        simple = {
            "F": self.field,
            "S": self.component,
            "T": self.subcomponent,
            "R": self.repetition,
            "E": self.escape,
            ".br": "\n",
        }
        if name in simple:
            return simple[name]
        if name[:1] == "X":  # bytes in the message's character set, as hex pairs
            try:
                return _CONTROL.sub("", bytes.fromhex(name[1:]).decode(self.codec))
            except (ValueError, UnicodeDecodeError):
                return ""
        return ""  # highlighting, formatting, character set switches: no text of their own


class Segment:
    """One segment of the message, with its source line and the label locations use."""

    __slots__ = ("_raw", "_seps", "label", "line", "name")

    def __init__(self, raw: Any, name: str, line: int, label: str, seps: _Separators) -> None:
        self._raw = raw
        self._seps = seps
        self.name = name
        self.line = line
        self.label = label

    def where(self, field: int, repetition: int | None = None) -> str:
        place = f"{self.label}-{field}"
        return place if repetition is None else f"{place}({repetition})"

    def field(self, number: int) -> tuple[Rep, ...]:
        """The field's repetitions, unescaped; empty repetitions are kept (they count)."""
        if number >= len(self._raw):
            return ()
        unescape = self._seps.unescape
        reps = tuple(_repetition(item, unescape) for item in self._raw[number])
        return () if all(not any(any(c) for c in rep) for rep in reps) else reps

    def value(self, number: int, component: int = 1, subcomponent: int = 1) -> str:
        """One value of the field's first repetition; ``""`` when absent."""
        reps = self.field(number)
        return part(reps[0], component, subcomponent) if reps else ""


def part(rep: Rep, component: int, subcomponent: int = 1) -> str:
    """A component (or one of its subcomponents) of a repetition; ``""`` when absent."""
    if component > len(rep):
        return ""
    parts = rep[component - 1]
    return parts[subcomponent - 1] if subcomponent <= len(parts) else ""


def _repetition(item: Any, unescape: Callable[[str], str]) -> Rep:
    # python-hl7 nests only where a separator occurs: a bare value stays a string.
    if isinstance(item, str):
        return ((unescape(item),),)
    return tuple(
        (unescape(c),) if isinstance(c, str) else tuple(unescape(s) for s in c) for c in item
    )


@dataclass(frozen=True, slots=True)
class V2Message:
    segments: tuple[Segment, ...]

    @property
    def header(self) -> Segment:
        return self.segments[0]

    def all(self, name: str) -> Iterator[Segment]:
        return (segment for segment in self.segments if segment.name == name)

    def first(self, name: str) -> Segment | None:
        return next(self.all(name), None)


def parse_message(data: bytes, charset: str, charsets: Mapping[str, str]) -> V2Message:
    """The one HL7 v2 message in ``data``.

    ``charset`` is the table 0211 name assumed when MSH-18 is empty; ``charsets`` maps MSH-18
    names to codecs.

    :raises RecordError: for empty input, bytes not in the declared character set, text that
        does not start with MSH or holds something other than segments, broken encoding
        characters, or more than one message.
    """
    data = _unframed(data)
    if not data.strip():
        raise RecordError("the input is empty", "line 1")
    text, codec = _decoded(data, charset, charsets)
    lines = _segment_lines(text)
    seps = _separators(lines[0][1], codec)
    for number, line in lines:
        _check_segment(number, line, seps.field)
    _one_message(lines)
    try:
        parsed = hl7.parse("\r".join(line for _, line in lines))
    except hl7.ParseException:  # checked above; kept so no library error escapes
        raise RecordError("not an HL7 v2 message", "line 1") from None
    return V2Message(tuple(_segments(parsed, lines, seps)))


def _unframed(data: bytes) -> bytes:
    data = data.strip(b" \t\r\n")
    if data.startswith(_MLLP_START):
        data = data[1:]
    end = data.rfind(_MLLP_END)
    return data[:end] if end >= 0 else data


def _decoded(data: bytes, charset: str, charsets: Mapping[str, str]) -> tuple[str, str]:
    for bom, named in _BOMS.items():
        if data.startswith(bom):
            return decode_text(data), named  # the BOM names the encoding, whatever MSH-18 says
    declared = _declared_charset(data)
    name = declared or charset
    codec = charsets.get(name.upper())
    if codec is None:
        raise RecordError(f"character set {name!r} is not one this profile reads", "MSH-18")
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as exc:
        line = len(_BREAK.findall(data, 0, exc.start)) + 1
        source = "as MSH-18 declares" if declared else "the profile's default character set"
        raise RecordError(
            f"not valid {name} text, {source} (line {line}, byte {exc.start + 1})", "MSH-18"
        ) from None
    except LookupError:
        raise RecordError(f"no codec for character set {name!r}", "MSH-18") from None


def _declared_charset(data: bytes) -> str | None:
    """MSH-18's first value, read before decoding: the header is ASCII in every table 0211
    character set Python reads without a BOM."""
    for raw in _BREAK.split(data, maxsplit=3):
        line = raw.decode("latin-1").strip()
        if line[:3] in _ENVELOPE:
            continue
        if not line.startswith("MSH") or len(line) < 8:
            return None
        fields = line.split(line[3])
        if len(fields) < 18 or len(fields[1]) < 2:
            return None
        component, repetition = fields[1][0], fields[1][1]
        value = fields[17].split(repetition)[0].split(component)[0].strip()
        return value or None
    return None


def _segment_lines(text: str) -> list[tuple[int, str]]:
    """(line number, segment) for each non-blank line, without the batch envelope."""
    lines = [
        (number, line.rstrip())
        for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1)
        if line.strip() and line.lstrip()[:3] not in _ENVELOPE
    ]
    if not lines:
        raise RecordError("the input holds no message, only a batch envelope", "line 1")
    first, line = lines[0]
    if not line.startswith("MSH"):
        raise RecordError("the message does not start with an MSH segment", f"line {first}")
    return lines


def _separators(header: str, codec: str) -> _Separators:
    if len(header) < 4 or header[3].isalnum() or header[3].isspace():
        raise RecordError("MSH-1 is not a field separator", "MSH-1")
    field = header[3]
    end = header.find(field, 4)
    encoding = header[4:end] if end >= 0 else header[4:]
    valid = (
        len(encoding) in (4, 5)  # 5: v2.7's truncation character
        and len(set(encoding + field)) == len(encoding) + 1
        and not any(c.isalnum() or c.isspace() for c in encoding)
    )
    if not valid:
        raise RecordError(
            "MSH-2 is not four distinct encoding characters "
            "(component, repetition, escape, subcomponent)",
            "MSH-2",
        )
    component, repetition, escape, subcomponent = encoding[0], encoding[1], encoding[2], encoding[3]
    return _Separators(field, component, repetition, escape, subcomponent, codec)


def _check_segment(number: int, line: str, field: str) -> None:
    if not _SEGMENT_ID.fullmatch(line[:3]) or line[3:4] not in ("", field):
        raise RecordError(
            "not an HL7 segment (a three-character segment id, then the field separator)",
            f"line {number}",
        )
    if _CONTROL.search(line):
        raise RecordError("the segment holds a control character (such as NUL)", f"line {number}")


def _one_message(lines: Sequence[tuple[int, str]]) -> None:
    headers = [number for number, line in lines if line.startswith("MSH")]
    if len(headers) > 1:
        raise RecordError(
            f"{len(headers)} messages in one input (a batch): a record is one message",
            f"line {headers[1]}",
        )


def _segments(
    parsed: Any, lines: Sequence[tuple[int, str]], seps: _Separators
) -> Iterator[Segment]:
    names = [line[:3] for _, line in lines]
    counts = Counter(names)
    seen: Counter[str] = Counter()
    for raw, name, (number, _) in zip(parsed, names, lines, strict=True):
        seen[name] += 1
        label = name if counts[name] == 1 else f"{name}({seen[name]})"
        yield Segment(raw, name, number, label, seps)
