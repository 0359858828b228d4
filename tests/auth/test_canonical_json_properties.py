"""Properties of RFC 8785 canonical JSON as the gateway signs it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.auth.canonical_json import canonicalize, parse_object

BOUNDED = settings(max_examples=100, deadline=None)
SAFE = 2**53 - 1
# I-JSON values: no lone surrogates, finite numbers within 2**53 (RFC 7493 §2.2; a larger
# float is written as an integer literal, which parse_object refuses as beyond 2**53).
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-SAFE, SAFE)
    | st.floats(-SAFE, SAFE, allow_nan=False, allow_infinity=False)
    | text
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)
objects = st.dictionaries(text, values, max_size=6)


@BOUNDED
@given(document=objects)
def test_canonicalization_is_idempotent(document: dict[str, Any]) -> None:
    once = canonicalize(document)
    assert canonicalize(parse_object(once)) == once


@BOUNDED
@given(document=objects, order=st.randoms())
def test_key_order_does_not_change_the_canonical_bytes(document: dict[str, Any], order) -> None:
    items = list(document.items())
    order.shuffle(items)
    assert canonicalize(dict(items)) == canonicalize(document)


@BOUNDED
@given(document=objects)
def test_canonical_bytes_are_json_that_reads_back_as_the_same_value(
    document: dict[str, Any],
) -> None:
    canonical = canonicalize(document)
    assert json.loads(canonical) == json.loads(json.dumps(document))
    text_form = canonical.decode("utf-8")
    assert "\n" not in text_form.replace("\\n", "")  # no insignificant whitespace lines


@BOUNDED
@given(document=objects)
def test_object_keys_come_out_sorted_by_utf16_code_units(document: dict[str, Any]) -> None:
    keys = list(json.loads(canonicalize(document)))
    assert keys == sorted(document, key=lambda key: key.encode("utf-16-be"))
