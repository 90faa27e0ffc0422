"""Observers: installed observer plugins and ``cached(observers=...)`` receive every cache event."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import klepto_core
from klepto_core.base.observer import Observer
from klepto_core.errors import InvalidArgumentError, UnknownPluginError
from klepto_core.memo.notify import notifier
from klepto_core.registry import REGISTRY
from klepto_core.registry.specs import PluginSpec


class Recorder(Observer):
    """Every event, in order, as (event, function name, key)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Hashable]] = []

    def hit(self, func: Callable[..., object], key: Hashable) -> None:
        self.events.append(("hit", func.__name__, key))

    def miss(self, func: Callable[..., object], key: Hashable) -> None:
        self.events.append(("miss", func.__name__, key))

    def load(self, func: Callable[..., object], key: Hashable) -> None:
        self.events.append(("load", func.__name__, key))

    def evict(self, func: Callable[..., object], key: Hashable) -> None:
        self.events.append(("evict", func.__name__, key))

    def count(self) -> Counter[str]:
        return Counter(event for event, _, _ in self.events)


class MissesOnly(Observer):
    def __init__(self) -> None:
        self.misses = 0

    def miss(self, func: Callable[..., object], key: Hashable) -> None:
        self.misses += 1


@pytest.fixture
def installed() -> Iterator[Recorder]:
    """A Recorder installed as the observer plugin ``recorder`` for the test's duration."""
    recorder = Recorder()
    klepto_core.register_plugin("observer", PluginSpec("recorder", lambda: recorder, "records"))
    try:
        yield recorder
    finally:
        REGISTRY.unregister("observer", "recorder")


def square(x: int) -> int:
    return x * x


def test_explicit_observer_sees_hits_misses_and_evictions_in_order() -> None:
    recorder = Recorder()
    func = klepto_core.cached(maxsize=2, observers=[recorder])(square)
    for x in (1, 2, 1, 3):
        func(x)
    keys = {x: func.key(x) for x in (1, 2, 3)}
    assert recorder.events == [
        ("miss", "square", keys[1]),
        ("miss", "square", keys[2]),
        ("hit", "square", keys[1]),
        ("evict", "square", keys[2]),  # least recently used goes first
        ("miss", "square", keys[3]),
    ]


def test_loads_from_the_archive_are_reported(tmp_path) -> None:
    recorder = Recorder()
    first = klepto_core.cached(archive="dir", name=str(tmp_path / "memo"), observers=[])(square)
    first(4)
    again = klepto_core.cached(archive="dir", name=str(tmp_path / "memo"), observers=recorder)(square)
    assert again(4) == 16
    assert again(4) == 16
    assert [event for event, _, _ in recorder.events] == ["load", "hit"]


def test_an_installed_observer_plugin_sees_functions_decorated_after_it(installed: Recorder) -> None:
    lru = klepto_core.lru_cache(maxsize=10)(square)
    by_name = klepto_core.cached(policy="lfu")(square)
    lru(2), lru(2), by_name(3)
    assert installed.count() == {"miss": 2, "hit": 1}
    assert klepto_core.plugins("observer")[0].name == "recorder"


def test_functions_decorated_before_the_plugin_stay_unobserved() -> None:
    before = klepto_core.cached()(square)
    recorder = Recorder()
    klepto_core.register_plugin("observer", PluginSpec("late", lambda: recorder))
    try:
        before(1), before(1)
        assert recorder.events == []
    finally:
        REGISTRY.unregister("observer", "late")


def test_observers_list_replaces_the_installed_ones(installed: Recorder) -> None:
    mine = MissesOnly()
    func = klepto_core.cached(observers=[mine])(square)
    func(1), func(1), func(2)
    assert mine.misses == 2
    assert installed.events == []
    silent = klepto_core.cached(observers=[])(square)
    silent(5)
    assert installed.events == []


def test_observers_by_plugin_name_share_one_instance(installed: Recorder) -> None:
    a = klepto_core.cached(observers=["recorder"])(square)
    b = klepto_core.cached(observers="recorder")(square)
    a(1), b(1)
    assert installed.count() == {"miss": 2}


def test_bad_observers_are_clear_errors() -> None:
    with pytest.raises(UnknownPluginError, match="observer 'nope'"):
        klepto_core.cached(observers=["nope"])
    with pytest.raises(InvalidArgumentError, match="Observer objects or observer plugin names"):
        klepto_core.cached(observers=[object()])
    klepto_core.register_plugin("observer", PluginSpec("broken", lambda: "not an observer"))
    try:
        with pytest.raises(InvalidArgumentError, match="not a klepto_core.plugin.Observer"):
            klepto_core.cached(observers=["broken"])
    finally:
        REGISTRY.unregister("observer", "broken")


def test_no_observer_means_no_reporting_at_all() -> None:
    assert notifier(square, []) is None
    assert notifier(square, [Observer()]) is None  # overrides nothing: nothing to call
    only_misses = notifier(square, [MissesOnly()])
    assert only_misses is not None
    assert only_misses.hit is None and only_misses.miss is not None


@settings(max_examples=60, deadline=None)
@given(
    calls=st.lists(st.integers(0, 12), max_size=60),
    maxsize=st.integers(1, 6),
    policy=st.sampled_from(["lru", "lfu", "mru", "rr"]),
)
def test_events_agree_with_the_cache_counters(calls: list[int], maxsize: int, policy: str) -> None:
    recorder = Recorder()
    func = klepto_core.cached(policy=policy, maxsize=maxsize, observers=[recorder])(square)
    for x in calls:
        assert func(x) == x * x
    info, seen = func.info(), recorder.count()
    assert (seen["hit"], seen["miss"], seen["load"]) == (info.hit, info.miss, info.load)
    assert seen["miss"] - seen["evict"] == info.size  # every entry that left memory was reported


def test_klepto_style_decorators_take_observers(installed: Recorder) -> None:
    mine = MissesOnly()
    func = klepto_core.lfu_cache(maxsize=4, observers=[mine])(square)
    func(1), func(1), func(2)
    assert mine.misses == 2
    assert installed.events == []  # an explicit list replaces the installed observers
    assert "observers=" in repr(klepto_core.lfu_cache(maxsize=4, observers=[mine]))


def test_evictions_are_reported_after_the_cache_lock_is_released() -> None:
    import threading

    others_finished = []

    class SlowEvict(Observer):
        def evict(self, func: Callable[..., object], key: Hashable) -> None:
            # another thread's miss completes while we are still being told
            worker = threading.Thread(target=lambda: others_finished.append(func_cached(100)))
            worker.start()
            worker.join(5)

    func_cached = klepto_core.cached(maxsize=1, observers=[SlowEvict()])(square)
    func_cached(1)
    func_cached(2)  # evicts 1
    assert others_finished and others_finished[0] == 10_000


def test_a_failing_observer_cannot_leave_the_cache_half_evicted() -> None:
    class Raises(Observer):
        def evict(self, func: Callable[..., object], key: Hashable) -> None:
            raise RuntimeError("metrics backend down")

    func = klepto_core.cached(maxsize=2, observers=[Raises()])(square)
    func(1), func(2)
    with pytest.raises(RuntimeError, match="metrics backend down"):
        func(3)
    assert func.info().size == 2  # the eviction itself completed before the observer ran
    assert func(3) == 9 and func.info().hit == 1


def test_a_keyerror_from_an_observer_is_not_taken_for_the_caches_own() -> None:
    from klepto_core.errors import ObserverError

    class BadHit(Observer):
        def hit(self, func: Callable[..., object], key: Hashable) -> None:
            raise KeyError("oops")

    func = klepto_core.cached(policy="lru", observers=[BadHit()])(square)
    func(1)
    with pytest.raises(ObserverError, match="oops"):
        func(1)


def test_purges_and_single_flight_hits_are_reported(tmp_path) -> None:
    recorder = Recorder()
    purging = klepto_core.cached(
        maxsize=2, purge=True, archive="dir", name=str(tmp_path / "p"), observers=[recorder]
    )(square)
    for x in (1, 2, 3):
        purging(x)
    assert recorder.count()["evict"] == 3  # the purge emptied memory: every key was told
    flight = Recorder()
    func = klepto_core.cached(single_flight=True, observers=[flight])(square)
    func(4), func(4)
    assert flight.count() == {"miss": 1, "hit": 1}


def test_a_broken_installed_observer_is_left_out_with_one_warning() -> None:
    def fails() -> Observer:
        raise RuntimeError("cannot reach the metrics server")

    klepto_core.register_plugin("observer", PluginSpec("broken_metrics", fails))
    try:
        with pytest.warns(RuntimeWarning, match="broken_metrics.*cannot reach"):
            func = klepto_core.lru_cache(maxsize=4)(square)
        assert func(3) == 9 and func(3) == 9  # caching goes on without it
        with pytest.raises(RuntimeError, match="cannot reach"):  # named: its own error
            klepto_core.cached(observers=["broken_metrics"])
    finally:
        REGISTRY.unregister("observer", "broken_metrics")


def test_a_pickled_klepto_style_decorator_reports_to_this_processes_plugin(installed: Recorder) -> None:
    import pickle

    decorator = pickle.loads(pickle.dumps(klepto_core.lru_cache(maxsize=4, observers=["recorder"])))
    func = decorator(square)
    func(7), func(7)
    assert installed.count() == {"miss": 1, "hit": 1}


def _python_calls_during(call: Callable[[], object]) -> list[str]:
    """The Python functions entered while ``call`` runs (C functions are not listed)."""
    import sys

    entered: list[str] = []

    def profile(frame, event, arg) -> None:  # noqa: ANN001 - sys.setprofile's signature
        if event == "call":
            entered.append(frame.f_code.co_qualname)

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return entered[1:]  # the lambda itself


def test_with_no_observer_installed_a_hit_runs_no_observer_code() -> None:
    assert klepto_core.plugins("observer") == []
    plain = klepto_core.cached(policy="lru")(square)
    silenced = klepto_core.cached(policy="lru", observers=[])(square)
    plain(3), silenced(3)
    assert _python_calls_during(lambda: plain(3)) == _python_calls_during(lambda: silenced(3))
    watched = klepto_core.cached(policy="lru", observers=[Recorder()])(square)
    watched(3)
    assert "Recorder.hit" in _python_calls_during(lambda: watched(3))


def test_a_single_flight_hit_goes_through_the_policy_and_the_observers_alike() -> None:
    import threading

    from klepto_core.errors import ObserverError

    class BadHit(Observer):
        def hit(self, func: Callable[..., object], key: Hashable) -> None:
            raise KeyError("oops")

    started, release = threading.Event(), threading.Event()

    def slow(x: int) -> int:
        started.set()
        release.wait(10)
        return x

    func = klepto_core.cached(single_flight=True, observers=[BadHit()])(slow)
    first = threading.Thread(target=func, args=(1,))
    first.start()
    started.wait(10)
    outcome: list[BaseException] = []

    def second() -> None:
        try:
            func(1)  # waits for the first caller's lock, then finds its value in memory
        except BaseException as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=second)
    waiter.start()
    release.set()
    first.join(10)
    waiter.join(10)
    assert func.info().miss == 1
    # the waiter's hit (under the lock, or a plain one if it came late) reached the observer,
    # whose KeyError arrives as ObserverError either way
    assert len(outcome) == 1 and isinstance(outcome[0], ObserverError)


def test_a_broken_installed_observer_is_not_retried_on_every_decoration() -> None:
    import warnings

    made = []

    def fails() -> Observer:
        made.append(1)
        raise RuntimeError("down")

    klepto_core.register_plugin("observer", PluginSpec("flaky_metrics", fails))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for _ in range(5):
                klepto_core.cached()(square)
        assert len(made) == 1
    finally:
        REGISTRY.unregister("observer", "flaky_metrics")


def test_observers_given_as_a_generator_are_all_kept() -> None:
    mine = MissesOnly()
    func = klepto_core.lru_cache(maxsize=2, observers=(o for o in [mine]))(square)
    func(1)
    assert mine.misses == 1
