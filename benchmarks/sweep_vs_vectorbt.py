"""Sigma Lab sweeps against vectorbt (and backtesting.py) on the same SMA-crossover grid.

Each library runs in its own subprocess (so peak memory is measured per library with
``ru_maxrss``) on the same random-walk bars, the same grid and the same execution (next-bar
open fills in both, fees on both sides). First every configuration's final equity and number of
closed trades are compared, then bar-configurations per second and the ratio are printed.
Compilation is excluded by a warm-up run on a tiny input in the same process.

    .venv/bin/python benchmarks/sweep_vs_vectorbt.py --bars 100000 --configs 1000
    .venv/bin/python benchmarks/sweep_vs_vectorbt.py --bars 5000 --configs 50   # quick (CI)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

FEES = 0.0005


def make_bars(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(42)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.0005, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.001, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.001, n)))
    idx = pd.date_range("2000-01-03", periods=n, freq="1min", tz="UTC", name="timestamp")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": 1.0}, index=idx)


def make_grid(n_configs: int) -> tuple[list[int], list[int]]:
    pairs = [(f, s) for s in range(20, 400, 2) for f in range(2, 100, 2) if f < s]
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(pairs), size=min(n_configs, len(pairs)), replace=False))
    return [pairs[i][0] for i in pick], [pairs[i][1] for i in pick]


def run_sigma(bars: pd.DataFrame, fast: list[int], slow: list[int]) -> dict[str, list[float]]:
    from sigma_lab.sweep import build_configs  # noqa: F401  (import cost outside the timing)
    from sigma_lab.sweep.evaluate import SweepContext, evaluate_chunk

    configs = pd.DataFrame({"fast": fast, "slow": slow})
    ctx = SweepContext(
        bars=bars, strategy="sma_cross", execution={"fees_bps": FEES * 1e4, "periods_per_year": 252}
    )
    evaluate_chunk(
        SweepContext(bars=bars.iloc[:500], strategy="sma_cross", execution=ctx.execution), configs[:2]
    )
    start = time.perf_counter()
    out = evaluate_chunk(ctx, configs)
    elapsed = time.perf_counter() - start
    from sigma_lab.backtest.batch import O_FINAL, O_TRADES

    return {"seconds": elapsed, "final": out[:, O_FINAL].tolist(), "trades": out[:, O_TRADES].tolist()}


def run_vectorbt(bars: pd.DataFrame, fast: list[int], slow: list[int]) -> dict[str, list[float]]:
    import vectorbt as vbt

    def once(b: pd.DataFrame, f: list[int], s: list[int]) -> tuple[np.ndarray, np.ndarray]:
        close = b["close"]
        fm = vbt.MA.run(close, window=f, short_name="fast", per_column=False)
        sm = vbt.MA.run(close, window=s, short_name="slow", per_column=False)
        entries = fm.ma_crossed_above(sm)
        exits = fm.ma_crossed_below(sm)
        pf = vbt.Portfolio.from_signals(
            close,
            entries.shift(1, fill_value=False),
            exits.shift(1, fill_value=False),
            price=b["open"],
            fees=FEES,
            init_cash=100_000.0,
            freq="1D",
        )
        final = pf.final_value().to_numpy()
        trades = pf.trades.closed.count().to_numpy()
        return final, trades

    once(bars.iloc[:500], fast[:2], slow[:2])
    start = time.perf_counter()
    final, trades = once(bars, fast, slow)
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "final": final.tolist(), "trades": trades.tolist()}


def run_backtesting(bars: pd.DataFrame, fast: list[int], slow: list[int]) -> dict[str, list[float]]:
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    frame = bars.rename(columns=str.capitalize).tz_localize(None)

    def sma(values: np.ndarray, n: int) -> np.ndarray:
        return pd.Series(values).rolling(n).mean().to_numpy()

    class Cross(Strategy):
        fast = 10
        slow = 30

        def init(self) -> None:
            self.a = self.I(sma, self.data.Close, self.fast)
            self.b = self.I(sma, self.data.Close, self.slow)

        def next(self) -> None:
            if crossover(self.a, self.b):
                self.buy()
            elif crossover(self.b, self.a) and self.position:
                self.position.close()

    start = time.perf_counter()
    for f, s in zip(fast, slow, strict=True):
        Backtest(frame, Cross, cash=1e12, commission=FEES, finalize_trades=False).run(fast=f, slow=s)
    return {"seconds": time.perf_counter() - start}


def child(which: str, n_bars: int, n_configs: int) -> None:
    bars = make_bars(n_bars)
    fast, slow = make_grid(n_configs)
    fn = {"sigma": run_sigma, "vectorbt": run_vectorbt, "backtesting": run_backtesting}[which]
    out = fn(bars, fast, slow)
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def spawn(which: str, n_bars: int, n_configs: int) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", which, "--bars", str(n_bars), "--configs", str(n_configs)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--configs", type=int, default=1_000)
    parser.add_argument("--bt-configs", type=int, default=20, help="backtesting.py grid size")
    parser.add_argument("--child", choices=["sigma", "vectorbt", "backtesting"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.bars, args.configs)
        return
    sigma = spawn("sigma", args.bars, args.configs)
    vbt = spawn("vectorbt", args.bars, args.configs)
    n_cfg = len(sigma["final"])
    np.testing.assert_allclose(sigma["final"], vbt["final"], rtol=1e-9)
    assert sigma["trades"] == vbt["trades"], "trade counts differ"
    print(f"agreement: final equity (rtol 1e-9) and closed trades equal for all {n_cfg} configurations")
    work = args.bars * n_cfg
    rows = [("sigma-lab", sigma), ("vectorbt", vbt)]
    if args.bt_configs:
        bt = spawn("backtesting", min(args.bars, 20_000), args.bt_configs)
        bt["rate"] = min(args.bars, 20_000) * args.bt_configs / bt["seconds"]
        rows.append(("backtesting.py", bt))
    for name, res in rows:
        rate = res.get("rate", work / res["seconds"])
        line = f"{name:15s} {res['seconds']:9.3f} s  {rate / 1e6:10.2f} M bar-configs/s"
        print(f"{line}  peak RSS {res['maxrss_mb']:8.0f} MB")
    ratio = vbt["seconds"] / sigma["seconds"]
    print(f"speed-up over vectorbt: {ratio:.1f}x on {args.bars} bars x {n_cfg} configs")


if __name__ == "__main__":
    main()
