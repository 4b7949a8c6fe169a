"""How fast the synthetic supply-chain generator is, and how much memory it takes.

    python -m benchmarks.synthetic_scale            # 10k, 100k, 1M rows
    python -m benchmarks.synthetic_scale --quick    # 10k rows only (CI)

Target: 1M rows in under ~10 s with bounded memory.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import tracemalloc

from sklearn_unlearn.datasets import make_supply_chain

from .common import RESULTS, command_line, machine_line, write_report


def measure(n_samples: int) -> dict:
    tracemalloc.start()
    start = time.perf_counter()
    frame = make_supply_chain(n_samples, random_state=0)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "rows": n_samples,
        "seconds": seconds,
        "peak_MiB": peak / 2**20,
        "frame_MiB": frame.memory_usage(deep=True).sum() / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    sizes = [10_000] if args.quick else [10_000, 100_000, 1_000_000]
    rows = [measure(n) for n in sizes]
    lines = [
        "# Synthetic generator scale",
        "",
        f"Command: `{command_line('synthetic_scale', argv)}`  ",
        f"Machine: {machine_line()}, Python {platform.python_version()}",
        "",
        "| rows | seconds | peak MiB (tracemalloc) | frame MiB |",
        "| ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {r['rows']:,} | {r['seconds']:.2f} | {r['peak_MiB']:.0f} | {r['frame_MiB']:.0f} |" for r in rows]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        write_report(RESULTS / "synthetic_scale", "synthetic_scale", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
