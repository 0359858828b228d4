"""Opening VCF and BCF files with pysam/htslib: the checks and error messages every VCF reader
of the gateway shares (``gateway ingest vcf`` and ``gateway translate vcf``).

Kept apart from :mod:`gateway.ingest.vcf` so that ``translate vcf`` does not import numpy.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

import pysam

from gateway.errors import IngestError

__all__ = ["check_file", "open_variant_file", "quiet_htslib"]


def check_file(path: Path) -> None:
    """Refuse what htslib would misread or fail on obscurely: no file, plain gzip."""
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if not path.is_file():
        raise IngestError(f"{path}: not a regular file")
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc
    # BGZF (SAM spec §4.1) is gzip with an extra field "BC"; htslib cannot seek in plain gzip.
    if head[:2] == b"\x1f\x8b" and not (len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC"):
        raise IngestError(f"{path} is gzip-compressed but not BGZF; recompress it with bgzip")


def open_variant_file(path: Path) -> pysam.VariantFile:
    """A VCF or BCF opened with pysam; anything else is an IngestError naming the file."""
    try:
        with quiet_htslib():
            variant_file = pysam.VariantFile(str(path))
    except ValueError as exc:
        if "header" in str(exc):
            raise IngestError(f"{path}: malformed VCF header") from exc
        raise IngestError(f"{path}: not a VCF or BCF file") from exc
    except OSError as exc:
        if exc.errno == errno.ENOEXEC:  # htslib's answer for bytes of no format it knows
            raise IngestError(f"{path}: not a VCF or BCF file") from exc
        raise IngestError(f"{path}: cannot open as VCF/BCF: {exc.strerror or exc}") from exc
    if variant_file.format not in ("VCF", "BCF"):
        variant_file.close()
        raise IngestError(f"{path}: not a VCF or BCF file")
    return variant_file


@contextlib.contextmanager
def quiet_htslib() -> Iterator[None]:
    """Silence htslib's own stderr messages; every failure surfaces as an IngestError."""
    previous = pysam.set_verbosity(0)
    try:
        yield
    finally:
        pysam.set_verbosity(previous)
