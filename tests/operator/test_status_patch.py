"""Status is written as a merge patch: changed keys only, nulls for what disappeared."""

from __future__ import annotations

from typing import Any

import pytest

from smartlicensing.handlers.status import merge_patch


@pytest.mark.parametrize(
    ("old", "new", "want"),
    [
        pytest.param({}, {"a": 1}, {"a": 1}, id="added"),
        pytest.param({"a": 1}, {"a": 1}, {}, id="unchanged"),
        pytest.param({"a": 1, "b": 2}, {"a": 1}, {"b": None}, id="removed-becomes-null"),
        pytest.param(
            {"r": {"state": "Registered", "renewAt": "x"}},
            {"r": {"state": "Registered"}},
            {"r": {"renewAt": None}},
            id="nested-removal",
        ),
        pytest.param({"l": [1, 2]}, {"l": [1]}, {"l": [1]}, id="lists-replaced-whole"),
        pytest.param({"r": "text"}, {"r": {"a": 1}}, {"r": {"a": 1}}, id="type-changed"),
    ],
)
def test_merge_patch(old: dict[str, Any], new: dict[str, Any], want: dict[str, Any]) -> None:
    assert merge_patch(old, new) == want
