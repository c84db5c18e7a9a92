"""Benchmark: slokit's budgeted retries against urllib3's `Retry`, in one run on one machine.

Run: python bench/retry.py        (results go in docs/benchmarks.md, section "Retries")

1. Amplification under a total outage: a local server (127.0.0.1) answers every request 503; each client
   sends the same requests with at most 4 attempts each. Attempts per request is what the dependency sees.
2. Cost of the retry path:
   - one retry decision after a failed attempt, in-process (urllib3: `is_retry` + `increment`; slokit:
     `Attempts.next_delay()`, budget and metrics included), best of timeit repeats;
   - one successful request over loopback keep-alive through each adapter (the path every call pays).
"""

from __future__ import annotations

import platform
import sys
import time
import timeit
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import requests
from prometheus_client import CollectorRegistry
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse
from urllib3.util.retry import Retry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from retry_helpers import flaky_server, outage

from slokit.retry import Backoff, RetryAdapter, RetryBudget, RetryPolicy

REQUESTS = 1000
REPEAT = 5


def urllib3_retry() -> Retry:
    return Retry(total=3, status_forcelist=[503], backoff_factor=0, raise_on_status=False)


def slokit_policy(**kw) -> RetryPolicy:
    return RetryPolicy("bench", attempts=4, backoff=Backoff(base=0.0001, cap=0.0002), registry=CollectorRegistry(),
                       budget=RetryBudget(ratio=0.1, floor=1.0, window=10), **kw)


def amplification(adapter) -> tuple[float, float]:
    """(attempts per request, seconds) for REQUESTS requests against a server in total outage."""
    with flaky_server(outage) as server, requests.Session() as session:
        session.mount("http://", adapter)
        start = time.perf_counter()
        for _ in range(REQUESTS):
            session.get(server.url + "/", timeout=5)
        return server.hits / REQUESTS, time.perf_counter() - start


def per_request_ok(adapter, n: int = 2000) -> float:
    """Best-of-REPEAT µs per successful request over loopback keep-alive."""
    with flaky_server(lambda n: (200, {})) as server, requests.Session() as session:
        session.mount("http://", adapter)
        url = server.url + "/"
        session.get(url)
        return min(timeit.repeat(lambda: session.get(url), number=n // REPEAT, repeat=REPEAT)) / (n // REPEAT) * 1e6


def decision_cost(number: int = 50_000) -> tuple[float, float]:
    """µs for one retry decision after a 503: urllib3 vs slokit (a budget large enough never to refuse)."""
    response = HTTPResponse(status=503, headers={})

    def urllib3_once() -> None:
        retry = urllib3_retry()
        if retry.is_retry("GET", 503, has_retry_after=False):
            retry.increment("GET", "/", response=response)

    policy = slokit_policy()
    policy.budget = RetryBudget(ratio=1.0, floor=1e9, window=10)

    def slokit_once() -> None:
        policy.start("127.0.0.1:80", "GET").next_delay(None)

    def best(fn: Callable[[], object]) -> float:
        return min(timeit.repeat(fn, number=number, repeat=REPEAT)) / number * 1e6

    return best(urllib3_once), best(slokit_once)


class Canned(requests.adapters.BaseAdapter):
    """An in-process adapter answering 200 at once: what is left is the wrapper's own cost."""

    def __init__(self) -> None:
        super().__init__()
        self.response = requests.Response()
        self.response.status_code = 200

    def send(self, request, *args, **kwargs) -> requests.Response:
        return self.response

    def close(self) -> None:
        pass


def wrapper_cost(number: int = 100_000) -> tuple[float, float]:
    """µs per successful call: the canned adapter bare, and behind slokit's RetryAdapter."""
    request = requests.Request("GET", "http://127.0.0.1:9/").prepare()
    bare, wrapped = Canned(), RetryAdapter(slokit_policy(), Canned())
    def best(adapter: requests.adapters.BaseAdapter) -> float:
        return min(timeit.repeat(lambda: adapter.send(request), number=number, repeat=REPEAT)) / number * 1e6

    return best(bare), best(wrapped)


def main() -> None:
    print(f"Python {platform.python_version()} on {platform.machine()}, requests {version('requests')}, "
          f"urllib3 {version('urllib3')}\n")
    naive, naive_s = amplification(HTTPAdapter(max_retries=urllib3_retry()))
    budgeted, budgeted_s = amplification(RetryAdapter(slokit_policy()))
    print(f"| under total outage, {REQUESTS} requests, max 4 attempts each | attempts per request | seconds |")
    print("|---|---:|---:|")
    print(f"| urllib3 Retry(total=3) | {naive:.3f} | {naive_s:.2f} |")
    print(f"| slokit RetryAdapter, budget 10% + 1/s over 10s | {budgeted:.3f} | {budgeted_s:.2f} |")
    u, s = decision_cost()
    rounds = [(per_request_ok(HTTPAdapter(max_retries=0)), per_request_ok(HTTPAdapter(max_retries=urllib3_retry())),
               per_request_ok(RetryAdapter(slokit_policy()))) for _ in range(3)]  # interleaved: drift hits all
    plain, with_urllib3, with_slokit = (min(r[i] for r in rounds) for i in range(3))
    bare, wrapped = wrapper_cost()
    print("\n| cost | µs |")
    print("|---|---:|")
    print(f"| successful call, in-process canned adapter, bare | {bare:.2f} |")
    print(f"| successful call, same adapter behind slokit RetryAdapter | {wrapped:.2f} |")
    print(f"| one retry decision: urllib3 is_retry + increment | {u:.2f} |")
    print(f"| one retry decision: slokit next_delay (budget, breaker, metrics) | {s:.2f} |")
    print(f"| successful request, HTTPAdapter without retries | {plain:.0f} |")
    print(f"| successful request, HTTPAdapter + urllib3 Retry | {with_urllib3:.0f} |")
    print(f"| successful request, slokit RetryAdapter | {with_slokit:.0f} |")


if __name__ == "__main__":
    main()
