"""The conformance suite a policy plugin's tests subclass: ``PolicyConformance``."""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Any, ClassVar

import pytest

import klepto_core
from klepto_core.base.policy import Policy
from klepto_core.registry import REGISTRY
from klepto_core.testing.calls import _arg, _key, _recording, _value, call_key


class PolicyConformance:
    """Behaviour every policy must show; subclasses set ``policy_name``.

    ``maxsizes`` are the cache sizes tried; ``seeds`` fix the random call
    sequences, so a failure is reproducible.
    """

    policy_name: ClassVar[str] = ""
    maxsizes: ClassVar[tuple[int, ...]] = (1, 2, 3, 5, 8)
    seeds: ClassVar[tuple[int, ...]] = (0, 1, 2, 3)
    calls_per_sequence: ClassVar[int] = 200

    # -- helpers -------------------------------------------------------------------

    def policy_type(self) -> type[Policy]:
        """The policy class the plugin registers under ``policy_name``."""
        if not self.policy_name:
            raise TypeError(f"{type(self).__name__} must set policy_name")
        factory: type[Policy] = REGISTRY.resolve("policy", self.policy_name).factory
        return factory

    def bound(self, maxsize: int) -> int | None:
        """The maxsize a policy really runs with when asked for ``maxsize``."""
        forced = getattr(self.policy_type(), "forced", {})
        if "maxsize" in forced:
            value: int | None = forced["maxsize"]
            return value
        return maxsize

    def new_policy(self, maxsize: int) -> Policy:
        return self.policy_type()(self.bound(maxsize))

    def decorate(
        self, func: Callable[..., Any], maxsize: int, cache: Any = None, purge: bool = False
    ) -> Any:
        """``func`` under the policy's klepto-style decorator, keyed by :func:`call_key`."""
        decorator = getattr(klepto_core, f"{self.policy_name}_cache")(
            maxsize=maxsize, cache=cache, keymap=call_key, purge=purge
        )
        return decorator(func)

    def sequences(self, maxsize: int) -> Iterable[list[int]]:
        """Random call sequences over a key range a little larger than the cache."""
        for seed in self.seeds:
            rng = random.Random(seed)
            span = max(2, 2 * maxsize + 1)
            yield [rng.randrange(span) for _ in range(self.calls_per_sequence)]

    def drive(self, policy: Policy, memory: dict[Hashable, Any], key: Hashable) -> list[Hashable]:
        """Run one call through the policy protocol as the decorator does; return the victims."""
        if key in memory:
            if policy.on_hit is not None:
                try:
                    policy.on_hit(key)
                except KeyError:
                    policy.admitted(key)
            return []
        memory[key] = _value(0)
        policy.admitted(key)
        bound = policy.maxsize
        if bound is None or len(memory) <= bound:
            return []
        snapshot = dict(memory)
        victims = list(policy.victims(memory, key))
        assert memory == snapshot, "victims() must not change memory: the decorator evicts"
        for victim in victims:
            del memory[victim]
        return victims

    # -- the policy protocol -------------------------------------------------------

    def test_victims_are_in_memory_unique_and_enough(self) -> None:
        for maxsize in self.maxsizes:
            for sequence in self.sequences(maxsize):
                policy = self.new_policy(maxsize)
                memory: dict[Hashable, Any] = {}
                for key in sequence:
                    before = set(memory)
                    victims = self.drive(policy, memory, key)
                    assert len(set(victims)) == len(victims), f"duplicate victims {victims}"
                    assert set(victims) <= before | {key}, f"victims {victims} not in memory"
                    bound = policy.maxsize
                    if bound is not None:
                        assert len(memory) <= max(bound, 0), (maxsize, len(memory))

    def test_on_hit_for_an_unknown_key_raises_only_keyerror(self) -> None:
        policy = self.new_policy(max(self.maxsizes))
        if policy.on_hit is None:
            pytest.skip("the policy keeps no bookkeeping on hits")
        try:
            policy.on_hit(("never", "admitted"))
        except KeyError:
            pass
        policy.admitted(("never", "admitted"))  # the decorator's fallback must then work

    def test_untracked_entries_are_evicted_first(self) -> None:
        for maxsize in self.maxsizes:
            policy = self.new_policy(maxsize)
            bound = policy.maxsize
            if bound is None:
                pytest.skip("an unbounded policy never evicts")
            prefill = [("pre", i) for i in range(bound + 3)]
            memory: dict[Hashable, Any] = dict.fromkeys(prefill, 0)
            new = ("new", 0)
            memory[new] = 1
            policy.admitted(new)
            victims = policy.victims(memory, new)
            assert len(memory) - len(victims) <= max(bound, 0)
            untracked_victims = [v for v in victims if v != new]
            # the untracked keys go first, oldest first
            assert untracked_victims == prefill[: len(untracked_victims)], victims
            if bound >= 1:
                assert new not in victims, "a tracked key left while untracked ones remain"

    def test_prefilled_cache_shrinks_to_maxsize(self) -> None:
        for maxsize in self.maxsizes:
            bound = self.bound(maxsize)
            prefill = {_key(-1 - i): "old" for i in range((bound or 0) + 3)}
            f = self.decorate(_value, maxsize, cache=dict(prefill))
            assert f(1) == _value(1)
            memory = f.__cache__()
            if bound is None:
                assert len(memory) == len(prefill) + 1
            else:
                assert len(memory) <= max(bound, 0)
                if bound >= 1:
                    assert _key(1) in memory

    def test_clear_resets_bookkeeping(self) -> None:
        for maxsize in self.maxsizes:
            policy = self.new_policy(maxsize)
            bound = policy.maxsize
            if bound is None:
                pytest.skip("an unbounded policy never evicts")
            memory: dict[Hashable, Any] = {}
            for key in range(bound):
                self.drive(policy, memory, key)
            policy.clear()
            # everything in memory is now unknown to the policy: evicted oldest first
            memory[("new", 0)] = 0
            policy.admitted(("new", 0))
            if len(memory) > bound:
                victims = policy.victims(memory, ("new", 0))
                old = [k for k in memory if k != ("new", 0)]
                assert [v for v in victims if v != ("new", 0)] == old[: len(victims)]

    # -- through the decorator -----------------------------------------------------

    def test_values_counters_and_size(self) -> None:
        for maxsize in self.maxsizes:
            bound = self.bound(maxsize)
            for sequence in self.sequences(maxsize):
                func, computed = _recording()
                f = self.decorate(func, maxsize)
                for n, x in enumerate(sequence, 1):
                    assert f(x) == _value(x)
                    info = f.info()
                    assert info.hit + info.miss + info.load == n
                    assert info.miss == len(computed)
                    assert info.size == len(f.__cache__())
                    if bound is None:
                        assert info.size == len(set(sequence[:n]))
                    else:
                        assert info.size <= max(bound, 0)
                    for key, value in f.__cache__().items():
                        assert value == _value(_arg(key))

    def test_hits_are_served_from_memory(self) -> None:
        maxsize = max(self.maxsizes)
        bound = self.bound(maxsize)
        func, computed = _recording()
        f = self.decorate(func, maxsize)
        f(1)
        in_memory = _key(1) in f.__cache__()
        assert f(1) == _value(1)
        if bound == 0:
            assert not in_memory and computed == [1, 1]
        else:
            assert in_memory and computed == [1]
            assert f.info().hit == 1

    def test_clear_empties_memory_and_counters(self) -> None:
        for maxsize in self.maxsizes:
            f = self.decorate(_value, maxsize)
            for x in range(2 * maxsize + 2):
                f(x)
                f(x // 2)
            f.clear()
            assert len(f.__cache__()) == 0
            assert tuple(f.info())[:3] == (0, 0, 0)
            for x in range(2 * maxsize + 2):
                assert f(x) == _value(x)
            bound = self.bound(maxsize)
            if bound is not None:
                assert len(f.__cache__()) <= max(bound, 0)

    def test_threads_hammering_a_small_cache(self) -> None:
        maxsize = 4
        bound = self.bound(maxsize)
        f = self.decorate(lambda x: x * x, maxsize)
        errors: list[BaseException] = []
        calls_per_thread = 2000
        start = threading.Barrier(8)

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            try:
                start.wait()
                for _ in range(calls_per_thread):
                    x = rng.randrange(12)
                    result = f(x)
                    if result != x * x:
                        raise AssertionError(f"f({x}) returned {result}")
            except BaseException as exc:  # reported to the main thread below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads often, so unguarded updates interleave
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            sys.setswitchinterval(interval)
        assert not errors, errors[0]
        info = f.info()
        assert info.hit + info.miss + info.load == 8 * calls_per_thread
        if bound is not None:
            assert len(f.__cache__()) <= max(bound, 0)
        for key, value in f.__cache__().items():
            assert value == _arg(key) ** 2
