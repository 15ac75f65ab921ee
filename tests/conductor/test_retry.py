"""The retry policy alone: exponential backoff with jitter, a count or a time budget, an injected clock."""

from __future__ import annotations

import pytest

from perago.conductor.retry import Retry
from perago.errors import ConductorError
from tests.conductor.test_client import FakeTime


class Flaky:
    def __init__(self, failures: int, retryable: bool = True) -> None:
        self.failures, self.retryable, self.calls = failures, retryable, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConductorError("HTTP 502", retryable=self.retryable, status=502)
        return "ok"


def policy(time: FakeTime, retries: int = 5) -> Retry:
    return Retry(retries, sleep=time.sleep, clock=time.clock, rng=lambda: 0.5)  # jitter factor exactly 1


def test_waits_double_from_a_tenth_of_a_second_up_to_five() -> None:
    retry = Retry(0, rng=lambda: 0.5)
    assert [retry.delay(n) for n in range(8)] == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert retry.delay(5000) == 5.0  # no float overflow however long the budget
    assert Retry(0, rng=lambda: 0.0).delay(0) == 0.05 and Retry(0, rng=lambda: 0.999).delay(0) < 0.15


def test_without_a_budget_it_retries_http_retries_times() -> None:
    time = FakeTime()
    assert policy(time, retries=2).run(Flaky(2)) == "ok"
    flaky = Flaky(3)
    with pytest.raises(ConductorError):
        policy(time, retries=2).run(flaky)
    assert flaky.calls == 3


def test_with_a_budget_it_retries_until_the_next_wait_would_end_past_it() -> None:
    time = FakeTime()
    flaky = Flaky(100)
    with pytest.raises(ConductorError):
        policy(time, retries=0).run(flaky, within_s=1.0)
    assert time.sleeps == [0.1, 0.2, 0.4] and flaky.calls == 4  # 0.7 s waited; 0.8 more would pass 1.0
    time = FakeTime()
    with pytest.raises(ConductorError):
        policy(time).run(Flaky(100), within_s=0.0)  # an exhausted lease still gets its one try
    assert time.sleeps == []


def test_non_retryable_errors_are_raised_at_once() -> None:
    time = FakeTime()
    flaky = Flaky(1, retryable=False)
    with pytest.raises(ConductorError):
        policy(time).run(flaky, within_s=60.0)
    assert flaky.calls == 1 and time.sleeps == []
