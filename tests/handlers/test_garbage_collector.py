"""``smartlicensing run`` collects garbage less often, over the objects made after start-up."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from smartlicensing.handlers.operator import tune_garbage_collector


@pytest.fixture
def collector() -> Iterator[None]:
    """The test process's own collector settings, restored afterwards."""
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_the_threshold_sets_the_youngest_generation_and_keeps_the_older_ones_frequent(
    collector: None,
) -> None:
    tune_garbage_collector(12_345)

    assert gc.get_threshold() == (12_345, 10, 10)


def test_what_lives_at_start_up_is_frozen_out_of_later_collections(collector: None) -> None:
    # Containers of containers: the collector tracks them (a dict of ints it would not).
    alive_at_start = [{"n": [n]} for n in range(100)]
    assert gc.is_tracked(alive_at_start[0])

    tune_garbage_collector(12_345)

    assert gc.get_freeze_count() >= len(alive_at_start)
    # A collection looks only at the generations, which no longer hold them.
    collected = {id(thing) for thing in gc.get_objects()}
    assert id(alive_at_start) not in collected
    assert id(alive_at_start[0]) not in collected


def test_zero_keeps_pythons_settings(collector: None) -> None:
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()

    tune_garbage_collector(0)

    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_garbage_of_the_start_up_is_collected_before_the_rest_is_frozen(collector: None) -> None:
    class Cycle:
        me: object = None

    dropped = Cycle()
    dropped.me = dropped  # only the collector can free a cycle
    gone = weakref.ref(dropped)
    del dropped

    tune_garbage_collector(12_345)

    assert gone() is None  # collected, not frozen for the life of the process
    assert gc.get_freeze_count() > 0
