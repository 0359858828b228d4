"""Beacon granularity and dataset security levels.

The spec (Beacon v2 framework) defines the levels but not how they bound granularity; the
gateway applies the rule operators expect: a caller gets the least of what it asked for, what
the dataset allows, and what its access to the dataset's security level allows
(:mod:`gateway.domain.access`).
"""

from __future__ import annotations

from enum import StrEnum


class Granularity(StrEnum):
    BOOLEAN = "boolean"
    COUNT = "count"
    RECORD = "record"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Granularity.BOOLEAN: 0, Granularity.COUNT: 1, Granularity.RECORD: 2}


class SecurityLevel(StrEnum):
    PUBLIC = "PUBLIC"
    REGISTERED = "REGISTERED"
    CONTROLLED = "CONTROLLED"


class ConsentBasis(StrEnum):
    """Which samples of a dataset count in research answers.

    ``open``: public reference data, every sample counts. ``citizen``: a sample counts only
    while its linked citizen permits research use; unlinked samples never count.
    """

    OPEN = "open"
    CITIZEN = "citizen"


def least(*levels: Granularity) -> Granularity:
    return min(levels, key=lambda g: g.rank)
