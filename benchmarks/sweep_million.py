"""A sweep of a million SMA-crossover configurations over 10,000 synthetic hourly bars.

Shows that memory stays proportional to bars plus configurations (never their product):
prints the wall time, throughput and the process's peak resident memory.

    python benchmarks/sweep_million.py [--bars 10000] [--max-period 1000]
"""

from __future__ import annotations

import argparse
import resource
import time

import sigma_lab
from sigma_lab.data import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=10_000)
    parser.add_argument("--max-period", type=int, default=1000, help="fast in 2..N, slow in 3..2N")
    args = parser.parse_args()
    bars = load("SYN", timeframe="1h", source="synthetic", n_bars=args.bars, seed=11)
    n = args.max_period
    grid = {"fast": list(range(2, n + 2)), "slow": list(range(3, 2 * n + 3))}
    started = time.perf_counter()
    result = sigma_lab.sweep(
        bars,
        "sma_cross",
        grid=grid,
        constraints=[f"slow - fast <= {n}"],
        risk_profile="aggressive",
        chunk_size=100_000,
        progress=False,
    )
    seconds = time.perf_counter() - started
    configs = len(result.table)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{configs:,} configurations x {len(bars):,} bars in {seconds:.1f} s")
    print(f"{configs * len(bars) / seconds / 1e6:.1f} M bar-configs/s, peak RSS {peak_mb:,.0f} MB")
    print(result.top(3)[["fast", "slow", "sharpe", "deflated_sharpe", "trades"]].to_string())


if __name__ == "__main__":
    main()
