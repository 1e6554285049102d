"""Time Sigma Lab's indicators against TA-Lib and plain pandas on a million bars.

Run: ``python benchmarks/indicators_vs_talib.py [--bars N] [--repeat R]``. Each timing is the
best of ``repeat`` runs after one warm-up call (numba compiles or loads its cache then).
Sigma Lab is timed through the public ``compute()``, DataFrame result included.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import talib

from sigma_lab.indicators import compute


def random_bars(n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` minute bars of a seeded random walk."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 0.0005, n)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 0.0005, n)))
    volume = rng.lognormal(8.0, 0.5, n)
    index = pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def _wilder(s: pd.Series, p: int) -> pd.Series:
    return s.ewm(alpha=1.0 / p, adjust=False).mean()


def _true_range(b: pd.DataFrame) -> pd.Series:
    pc = b["close"].shift()
    return pd.concat([b["high"], pc], axis=1).max(axis=1) - pd.concat([b["low"], pc], axis=1).min(axis=1)


def pandas_rsi(b: pd.DataFrame) -> pd.Series:
    d = b["close"].diff()
    gain, loss = _wilder(d.clip(lower=0), 14), _wilder(-d.clip(upper=0), 14)
    return 100 * gain / (gain + loss)


def pandas_macd(b: pd.DataFrame) -> pd.DataFrame:
    line = b["close"].ewm(span=12, adjust=False).mean() - b["close"].ewm(span=26, adjust=False).mean()
    signal = line.ewm(span=9, adjust=False).mean()
    return pd.DataFrame({"macd": line, "signal": signal, "hist": line - signal})


def pandas_bbands(b: pd.DataFrame) -> pd.DataFrame:
    mid, std = b["close"].rolling(20).mean(), b["close"].rolling(20).std(ddof=0)
    return pd.DataFrame({"upper": mid + 2 * std, "middle": mid, "lower": mid - 2 * std})


def pandas_adx(b: pd.DataFrame) -> pd.Series:
    up, down = b["high"].diff(), -b["low"].diff()
    plus = up.where((up > down) & (up > 0), 0.0)
    minus = down.where((down > up) & (down > 0), 0.0)
    tr = _wilder(_true_range(b), 14)
    pdi, mdi = 100 * _wilder(plus, 14) / tr, 100 * _wilder(minus, 14) / tr
    return _wilder(100 * (pdi - mdi).abs() / (pdi + mdi), 14)


def pandas_obv(b: pd.DataFrame) -> pd.Series:
    return (np.sign(b["close"].diff()).fillna(0) * b["volume"]).cumsum() + b["volume"].iloc[0]


def cases(
    b: pd.DataFrame,
) -> dict[str, tuple[Callable[[], object], Callable[[], object], Callable[[], object]]]:
    """Indicator -> (Sigma Lab, TA-Lib, pandas) callables with matching default parameters."""
    h, lo, c, v = (b[k].to_numpy() for k in ("high", "low", "close", "volume"))
    return {
        "sma": (
            lambda: compute(b, "sma", period=20),
            lambda: talib.SMA(c, 20),
            lambda: b["close"].rolling(20).mean(),
        ),
        "ema": (
            lambda: compute(b, "ema", period=20),
            lambda: talib.EMA(c, 20),
            lambda: b["close"].ewm(span=20, adjust=False).mean(),
        ),
        "rsi": (lambda: compute(b, "rsi", period=14), lambda: talib.RSI(c, 14), lambda: pandas_rsi(b)),
        "atr": (
            lambda: compute(b, "atr", period=14),
            lambda: talib.ATR(h, lo, c, 14),
            lambda: _wilder(_true_range(b), 14),
        ),
        "macd": (lambda: compute(b, "macd"), lambda: talib.MACD(c, 12, 26, 9), lambda: pandas_macd(b)),
        "bbands": (
            lambda: compute(b, "bbands", period=20, nstd=2.0),
            lambda: talib.BBANDS(c, 20, 2.0, 2.0, 0),
            lambda: pandas_bbands(b),
        ),
        "adx": (
            lambda: compute(b, "adx", period=14),
            lambda: (talib.ADX(h, lo, c, 14), talib.PLUS_DI(h, lo, c, 14), talib.MINUS_DI(h, lo, c, 14)),
            lambda: pandas_adx(b),
        ),
        "obv": (lambda: compute(b, "obv"), lambda: talib.OBV(c, v), lambda: pandas_obv(b)),
    }


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Best wall-clock seconds of ``repeat`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bars = random_bars(args.bars)
    print(f"{args.bars:,} bars, best of {args.repeat} (milliseconds)")
    columns = ("sigma_lab", 11), ("ta-lib", 10), ("pandas", 10), ("sigma/talib", 13), ("pandas/sigma", 14)
    header = f"{'indicator':<10}" + "".join(f"{title:>{width}}" for title, width in columns)
    print(header)
    print("-" * len(header))
    for name, (ours, theirs, pandas_fn) in cases(bars).items():
        t_ours, t_talib, t_pandas = (best_of(f, args.repeat) for f in (ours, theirs, pandas_fn))
        print(
            f"{name:<10}{t_ours * 1e3:>11.1f}{t_talib * 1e3:>10.1f}{t_pandas * 1e3:>10.1f}"
            f"{t_ours / t_talib:>13.2f}{t_pandas / t_ours:>14.1f}"
        )


if __name__ == "__main__":
    main()
