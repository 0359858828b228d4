"""JSON objects whose keys are all distinct.

A JSON text may repeat a key, and parsers disagree on which value wins: a gateway that checks
one value while a later reader uses the other can be fooled. Every body the gateway parses from
outside is therefore read with :func:`unique_keys` as ``object_pairs_hook``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["unique_keys"]


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``pairs`` as a dict. :raises ValueError: a key repeats (not named: it may be patient
    data)."""
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("duplicate keys")
    return found
