"""The tamper-evident access log: each record is chained to the one before it.

Every access decision becomes an audit record (a FHIR ``AuditEvent``, IHE BALP shape). Records
are appended to one chain: a record's hash is SHA-256 over the previous record's hash and the
record's own canonical bytes, so changing, deleting or reordering any record breaks every hash
after it (``gateway audit verify``). A hash chain rather than a Merkle log: the gateway is the
only writer and verifies from the start; inclusion proofs for third parties are not needed yet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["GENESIS", "ChainBreak", "ChainLink", "chain_hash", "verify_chain"]

GENESIS = "0" * 64  # the "previous hash" of the first record


def chain_hash(previous: str, content: bytes) -> str:
    """The hash of a record whose canonical bytes are ``content``, after ``previous``."""
    return hashlib.sha256(previous.encode("ascii") + b"\n" + content).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One stored record as the verifier reads it back."""

    sequence: int
    previous: str
    hash: str
    content: bytes


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where the chain stops holding, and why (no record content: it may name a patient)."""

    sequence: int
    reason: str

    def __str__(self) -> str:
        return f"record {self.sequence}: {self.reason}"


def verify_chain(links: Iterable[ChainLink]) -> tuple[int, ChainBreak | None]:
    """How many records hold, and the first break if any.

    Checked for every record: it follows the one before (sequence numbers have no gaps, so a
    deleted record shows), it names the previous record's hash (so reordering shows), and its
    own hash matches its content (so a change shows).
    """
    previous = GENESIS
    expected_sequence: int | None = None
    count = 0
    for link in links:
        if expected_sequence is not None and link.sequence != expected_sequence:
            return count, ChainBreak(link.sequence, f"expected record {expected_sequence} here")
        if link.previous != previous:
            return count, ChainBreak(link.sequence, "does not follow the record before it")
        if chain_hash(link.previous, link.content) != link.hash:
            return count, ChainBreak(link.sequence, "its content was changed")
        previous, expected_sequence = link.hash, link.sequence + 1
        count += 1
    return count, None
