"""What every benchmark shares: counting the app's FHIR traffic, medians, and the result table.

Every benchmark reports, per action: HTTP requests to the FHIR server, bytes received, app time
(wall time less the time spent waiting on FHIR), server time (the time spent waiting on FHIR,
loopback) and the ratio of its wall time to a baseline measured in the same run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

RESULTS_DIR = Path(__file__).parent / "results"
CACHE_DIR = Path(os.environ.get("FHIR_REHAB_BENCH_CACHE", Path.home() / ".cache" / "fhir-rehab" / "bench"))


@dataclass
class Traffic:
    """FHIR requests seen since `reset` (all threads of this process)."""

    requests: int = 0
    bytes: int = 0
    seconds: float = 0.0


class TrafficRecorder:
    """Wraps requests' Session.send to count requests, response bytes and waiting time for URLs
    under `prefix` (the FHIR base)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.traffic = Traffic()
        self._original = requests.Session.send
        self._lock = threading.Lock()

    def reset(self) -> Traffic:
        with self._lock:
            seen, self.traffic = self.traffic, Traffic()
        return seen

    def __enter__(self) -> TrafficRecorder:
        recorder = self

        def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            response = recorder._original(session, request, **kwargs)
            waited = time.perf_counter() - t0
            if str(request.url).startswith(recorder.prefix):
                with recorder._lock:
                    recorder.traffic.requests += 1
                    recorder.traffic.bytes += len(response.content or b"")
                    recorder.traffic.seconds += waited
            return response

        requests.Session.send = send  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        requests.Session.send = self._original  # type: ignore[method-assign]


@dataclass
class Row:
    """One action of one benchmark, medians over its repeats."""

    benchmark: str
    action: str
    who: str  # "fhir-rehab" or the baseline's name
    requests: float
    kbytes: float
    app_ms: float
    server_ms: float
    total_ms: float
    ratio: float | None = None  # total / the baseline's total for the same action (same run)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def measure(recorder: TrafficRecorder, fn: Callable[[], object], repeat: int, **row: Any) -> Row:
    """Run `fn` `repeat` times; medians of requests, bytes, app, server and wall time."""
    totals, reqs, sizes, waits = [], [], [], []
    for _ in range(repeat):
        recorder.reset()
        t0 = time.perf_counter()
        fn()
        totals.append(time.perf_counter() - t0)
        seen = recorder.reset()
        reqs.append(seen.requests)
        sizes.append(seen.bytes)
        waits.append(seen.seconds)
    total = statistics.median(totals) * 1000
    server = statistics.median(waits) * 1000
    return Row(
        requests=statistics.median(reqs),
        kbytes=statistics.median(sizes) / 1024,
        app_ms=statistics.median(t - w for t, w in zip(totals, waits, strict=True)) * 1000,
        server_ms=server,
        total_ms=total,
        **row,
    )


def with_ratios(rows: list[Row], baseline: str) -> list[Row]:
    """Each row's total time over the baseline's for the same benchmark and action."""
    base = {(r.benchmark, r.action): r.total_ms for r in rows if r.who == baseline}
    for r in rows:
        b = base.get((r.benchmark, r.action))
        r.ratio = r.total_ms / b if b else None  # a baseline not run (total 0) gives no ratio
    return rows


def print_rows(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    head = (
        f"{'action':<34} {'who':<22} {'req':>5} {'KiB':>8} {'app ms':>8} {'server ms':>9} "
        f"{'total ms':>9} {'x base':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        print(
            f"{r.action:<34} {r.who:<22} {r.requests:>5.0f} {r.kbytes:>8.1f} {r.app_ms:>8.1f} "
            f"{r.server_ms:>9.1f} {r.total_ms:>9.1f} {ratio:>7}" + (f"  {r.note}" if r.note else "")
        )


def save(name: str, rows: list[Row], meta: dict[str, Any]) -> Path:
    """Rows as JSON under benchmarks/results/ (run_all.py turns them into one Markdown table)."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps({"meta": {**machine(), **meta}, "rows": [asdict(r) for r in rows]}, indent=2))
    return path


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1m": round(load[0], 2),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


@contextmanager
def timer() -> Iterator[list[float]]:
    out: list[float] = []
    t0 = time.perf_counter()
    try:
        yield out
    finally:
        out.append(time.perf_counter() - t0)
