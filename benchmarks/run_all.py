"""Run every benchmark, one after another, and write benchmarks/RESULTS.md (linked from the README).

    python benchmarks/run_all.py [--quick]

Each benchmark runs as its own process and saves its rows under benchmarks/results/; this script
turns them into one Markdown table. `--quick` uses small sizes (a smoke run, minutes); the full
run seeds 100k Tasks once (cached under ~/.cache/fhir-rehab/bench) and is bounded by the
per-benchmark timeouts below.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"

# (name, argv, timeout seconds): full and quick variants
PLAN = {
    "startup": (["startup.py", "--repeat", "9"], ["startup.py", "--repeat", "3"], 600),
    "program": (["program_write.py", "--patients", "9"], ["program_write.py", "--patients", "2"], 900),
    "patient": (["patient.py", "--patients", "9"], ["patient.py", "--patients", "2"], 900),
    "worklist": (
        ["worklist.py", "--tasks", "1000", "10000", "100000", "--repeat", "5"],
        ["worklist.py", "--tasks", "1000", "10000", "--repeat", "3"],
        3600,
    ),
    "coordinator": (
        ["coordinator.py", "--tasks", "1000", "--repeat", "7"],
        ["coordinator.py", "--tasks", "1000", "--repeat", "3"],
        900,
    ),
    "load": (["load.py", "--seconds", "15"], ["load.py", "--seconds", "5", "--users", "1", "4"], 1200),
    "tailoring": (["tailoring_handout.py", "--runs", "10"], ["tailoring_handout.py", "--runs", "3"], 900),
}


def table(name: str) -> str:
    data = json.loads((RESULTS / f"{name}.json").read_text())
    meta, rows = data["meta"], data["rows"]
    out = [
        f"### {name}",
        "",
        f"{meta['when']}, {meta['cpus']} CPUs (shared with other work; 1-minute load "
        f"{meta['load_average_1m']} at the end), Python {meta['python']}.",
        "",
        "| action | who | requests | KiB | app ms | server ms | total ms | x baseline | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else ""
        out.append(
            f"| {r['action']} | {r['who']} | {r['requests']:.0f} | {r['kbytes']:.1f} | {r['app_ms']:.1f} | "
            f"{r['server_ms']:.1f} | {r['total_ms']:.1f} | {ratio} | {r.get('note', '')} |"
        )
    extra = {
        k: v for k, v in meta.items() if k not in ("when", "cpus", "python", "platform", "load_average_1m")
    }
    if extra:
        out += ["", "Run settings and derived figures: " + ", ".join(f"{k} = {v}" for k, v in extra.items())]
    return "\n".join(out) + "\n"


def earlier_sections() -> dict[str, str]:
    """The tables already in RESULTS.md by benchmark name: a run of some benchmarks (`--only`)
    keeps the others' last figures instead of dropping them."""
    path = HERE / "RESULTS.md"
    if not path.exists():
        return {}
    sections: dict[str, str] = {}
    for chunk in path.read_text().split("\n### ")[1:]:
        name = chunk.split("\n", 1)[0].strip()
        sections[name] = "### " + chunk.rstrip("\n") + "\n"
    return sections


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", choices=list(PLAN), help="run only these")
    args = parser.parse_args()
    failed = []
    for name, (full, quick, timeout) in PLAN.items():
        if args.only and name not in args.only:
            continue
        argv = quick if args.quick else full
        print(f"== {name}: {' '.join(argv)}", flush=True)
        t0 = time.monotonic()
        try:
            subprocess.run([sys.executable, str(HERE / argv[0]), *argv[1:]], check=True, timeout=timeout)  # noqa: S603
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            print(f"   {name} failed: {exc}", flush=True)
            failed.append(name)
        print(f"   {name}: {time.monotonic() - t0:.0f} s", flush=True)
    parts = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/run_all.py`. Every figure is a median on loopback against",
        "sekmet-fhir 0.1.1; ratios are to a baseline measured in the same run. `app ms` is wall time",
        "less the time spent waiting on the FHIR server (`server ms`). The machine has 2 cores shared",
        "with other work, so absolute times are noisy; ratios within one run are the honest figure.",
        "",
    ]
    kept = earlier_sections()
    parts += [
        table(name) if (RESULTS / f"{name}.json").exists() else kept[name]
        for name in PLAN
        if (RESULTS / f"{name}.json").exists() or name in kept
    ]
    (HERE / "RESULTS.md").write_text("\n".join(parts))
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
