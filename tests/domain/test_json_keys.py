import json

import pytest

from gateway.domain.json_keys import unique_keys


def test_an_object_with_distinct_keys_is_read_as_it_stands() -> None:
    text = '{"a": 1, "b": {"a": 2}}'
    assert json.loads(text, object_pairs_hook=unique_keys) == {"a": 1, "b": {"a": 2}}


@pytest.mark.parametrize("text", ['{"a": 1, "a": 2}', '{"x": {"iss": "a", "iss": "b"}}'])
def test_a_repeated_key_at_any_depth_is_refused_without_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match=r"^duplicate keys$"):
        json.loads(text, object_pairs_hook=unique_keys)
