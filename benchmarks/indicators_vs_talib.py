"""Time Sigma Lab's indicators against TA-Lib and plain pandas on a million bars.

Run: ``python benchmarks/indicators_vs_talib.py [--bars N] [--repeat R]``.

Two levels are timed, on the same seeded random-walk bars:

- **kernel**: float64 NumPy arrays in, arrays out: our numba kernel against the TA-Lib
  function, each allocating its own outputs;
- **api**: a bar frame in, a DataFrame of named columns out: ``compute(bars, name)`` against
  what a user of TA-Lib writes for the same result (take the columns, call TA-Lib, wrap the
  outputs in a DataFrame on the bars' index) and against plain pandas.

Both sides produce the same outputs: ``adx`` needs three TA-Lib calls (ADX, PLUS_DI,
MINUS_DI), and for ``bbands`` the width and %B that Sigma Lab also returns are added to
TA-Lib's three bands with NumPy. Before timing, each kernel's outputs are checked against
TA-Lib's (1e-9 after the warm-up). Every callable runs twice untimed first (numba compiles
or loads its cache), then the implementations take turns for ``repeat`` rounds so a burst of
load hits all of them alike; each figure is the best round, in milliseconds. The machine's
CPU count and load average are printed so readers can judge the noise.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version

import numpy as np
import pandas as pd
import talib

from sigma_lab.indicators import compute, get
from sigma_lab.indicators import kernels as k

Fn = Callable[[], object]


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


def pandas_rsi(b: pd.DataFrame) -> pd.DataFrame:
    d = b["close"].diff()
    gain, loss = _wilder(d.clip(lower=0), 14), _wilder(-d.clip(upper=0), 14)
    return (100 * gain / (gain + loss)).to_frame("rsi_14")


def pandas_macd(b: pd.DataFrame) -> pd.DataFrame:
    line = b["close"].ewm(span=12, adjust=False).mean() - b["close"].ewm(span=26, adjust=False).mean()
    signal = line.ewm(span=9, adjust=False).mean()
    return pd.DataFrame({"macd": line, "signal": signal, "hist": line - signal})


def _band_extras(close: np.ndarray, upper: np.ndarray, middle: np.ndarray, lower: np.ndarray):
    """Width over the middle and %B (0.5 when the bands collapse), as Sigma Lab defines them."""
    span = upper - lower
    with np.errstate(divide="ignore", invalid="ignore"):
        return span / middle, np.where(span > 0.0, (close - lower) / span, 0.5)


def pandas_bbands(b: pd.DataFrame) -> pd.DataFrame:
    mid, std = b["close"].rolling(20).mean(), b["close"].rolling(20).std(ddof=0)
    upper, lower = mid + 2 * std, mid - 2 * std
    span = upper - lower
    pctb = ((b["close"] - lower) / span).where(span > 0.0, 0.5)
    return pd.DataFrame({"upper": upper, "middle": mid, "lower": lower, "width": span / mid, "pctb": pctb})


def pandas_adx(b: pd.DataFrame) -> pd.DataFrame:
    up, down = b["high"].diff(), -b["low"].diff()
    plus = up.where((up > down) & (up > 0), 0.0)
    minus = down.where((down > up) & (down > 0), 0.0)
    tr = _wilder(_true_range(b), 14)
    pdi, mdi = 100 * _wilder(plus, 14) / tr, 100 * _wilder(minus, 14) / tr
    adx = _wilder(100 * (pdi - mdi).abs() / (pdi + mdi), 14)
    return pd.DataFrame({"adx": adx, "plus_di": pdi, "minus_di": mdi})


def pandas_obv(b: pd.DataFrame) -> pd.DataFrame:
    obv = (np.sign(b["close"].diff()).fillna(0) * b["volume"]).cumsum() + b["volume"].iloc[0]
    return obv.to_frame("obv")


@dataclass(frozen=True)
class Case:
    """One indicator timed at both levels; every callable returns the indicator's outputs."""

    name: str
    kernel: Fn
    talib_kernel: Fn
    api: Fn
    talib_api: Fn
    pandas_api: Fn


def _talib_frame(bars: pd.DataFrame, name: str, outputs: Callable[..., tuple[np.ndarray, ...]], *cols: str):
    """What a TA-Lib user writes for a DataFrame result: columns out, TA-Lib, outputs wrapped."""

    names = get(name).columns()

    def run() -> pd.DataFrame:
        arrays = [bars[c].to_numpy(dtype="float64") for c in cols]
        return pd.DataFrame(dict(zip(names, outputs(*arrays), strict=True)), index=bars.index)

    return run


def cases(b: pd.DataFrame) -> list[Case]:
    """The timed indicators at their default parameters, as (ours, TA-Lib, pandas) callables."""
    h, lo, c, v = (
        np.ascontiguousarray(b[col].to_numpy(dtype="float64")) for col in ("high", "low", "close", "volume")
    )

    def talib_bbands(close: np.ndarray) -> tuple[np.ndarray, ...]:
        upper, middle, lower = talib.BBANDS(close, 20, 2.0, 2.0, 0)
        return (upper, middle, lower, *_band_extras(close, upper, middle, lower))

    def talib_adx(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> tuple[np.ndarray, ...]:
        return (
            talib.ADX(high, low, close, 14),
            talib.PLUS_DI(high, low, close, 14),
            talib.MINUS_DI(high, low, close, 14),
        )

    one = {
        "sma": (
            lambda: k.sma(c, 20),
            lambda x: (talib.SMA(x, 20),),
            ("close",),
            lambda: b["close"].rolling(20).mean().to_frame("sma_20"),
        ),
        "ema": (
            lambda: k.ema(c, 20),
            lambda x: (talib.EMA(x, 20),),
            ("close",),
            lambda: b["close"].ewm(span=20, adjust=False).mean().to_frame("ema_20"),
        ),
        "rsi": (lambda: k.rsi(c, 14), lambda x: (talib.RSI(x, 14),), ("close",), lambda: pandas_rsi(b)),
        "atr": (
            lambda: k.atr(h, lo, c, 14),
            lambda *x: (talib.ATR(*x, 14),),
            ("high", "low", "close"),
            lambda: _wilder(_true_range(b), 14).to_frame("atr_14"),
        ),
        "macd": (
            lambda: k.macd(c, 12, 26, 9),
            lambda x: talib.MACD(x, 12, 26, 9),
            ("close",),
            lambda: pandas_macd(b),
        ),
        "bbands": (lambda: k.bbands(c, 20, 2.0), talib_bbands, ("close",), lambda: pandas_bbands(b)),
        "adx": (lambda: k.adx(h, lo, c, 14), talib_adx, ("high", "low", "close"), lambda: pandas_adx(b)),
        "obv": (lambda: k.obv(c, v), lambda *x: (talib.OBV(*x),), ("close", "volume"), lambda: pandas_obv(b)),
    }
    arrays = {"high": h, "low": lo, "close": c, "volume": v}
    out = []
    for name, (kernel, talib_fn, cols, pandas_fn) in one.items():
        inputs = [arrays[col] for col in cols]
        out.append(
            Case(
                name=name,
                kernel=kernel,
                talib_kernel=lambda fn=talib_fn, xs=inputs: fn(*xs),
                api=lambda name=name: compute(b, name),
                talib_api=_talib_frame(b, name, talib_fn, *cols),
                pandas_api=pandas_fn,
            )
        )
    return out


def check_same_outputs(case: Case) -> None:
    """Fail loudly if our kernel and TA-Lib do not compute the same thing (1e-9 after the warm-up)."""
    ours = case.kernel()
    theirs = case.talib_kernel()
    ours = ours if isinstance(ours, tuple) else (ours,)
    warm = get(case.name).warmup_bars()
    for j, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        scale = max(1.0, float(np.nanmax(np.abs(b[warm:]))))
        if not np.allclose(a[warm:], b[warm:], rtol=1e-9, atol=1e-9 * scale, equal_nan=True):
            raise SystemExit(
                f"{case.name} output {j}: Sigma Lab and TA-Lib disagree; the timing would be meaningless"
            )


def best_times(fns: list[Fn], repeat: int) -> list[float]:
    """Best wall-clock seconds of each callable over ``repeat`` interleaved rounds, after two warm-ups."""
    for fn in fns:
        fn()
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for j, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[j] = min(best[j], time.perf_counter() - start)
    return best


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bars", type=int, default=1_000_000, help="bars in the random walk (default 1,000,000)"
    )
    parser.add_argument("--repeat", type=int, default=9, help="timed rounds; the best is kept (default 9)")
    args = parser.parse_args()
    if args.bars < 100 or args.repeat < 1:
        parser.error("--bars must be at least 100 and --repeat at least 1")
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    print(f"{args.bars:,} bars, best of {args.repeat} interleaved rounds after 2 warm-up calls, milliseconds")
    cpu = platform.processor() or platform.machine()
    print(f"{cpu}, {cpus} CPUs ({usable} usable), load average {_load()} (start)")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"numba {version('numba')}, TA-Lib {talib.__version__} (C {talib.__ta_version__.decode().split()[0]})"
    )
    bars = random_bars(args.bars)
    rows = []
    for case in cases(bars):
        check_same_outputs(case)
        t = best_times(
            [case.kernel, case.talib_kernel, case.api, case.talib_api, case.pandas_api], args.repeat
        )
        rows.append((case.name, *(x * 1e3 for x in t)))
    print()
    header = ["indicator", "kernel: sigma", "kernel: ta-lib", "sigma/ta-lib"]
    header += ["api: sigma", "api: ta-lib", "api: pandas", "sigma/ta-lib", "pandas/sigma"]
    print("| " + " | ".join(header) + " |")
    print("|---|" + "--:|" * (len(header) - 1))
    ratios = []
    for name, ks, kt, a_s, a_t, a_p in rows:
        ratios.append((ks / kt, a_s / a_t, a_p / a_s))
        cells = [name, f"{ks:.2f}", f"{kt:.2f}", f"{ks / kt:.2f}"]
        cells += [f"{a_s:.2f}", f"{a_t:.2f}", f"{a_p:.1f}", f"{a_s / a_t:.2f}", f"{a_p / a_s:.1f}"]
        print("| " + " | ".join(cells) + " |")
    geo = np.exp(np.log(np.array(ratios)).mean(axis=0))
    print(f"| geometric mean | | | {geo[0]:.2f} | | | | {geo[1]:.2f} | {geo[2]:.1f} |")
    print()
    print(f"load average {_load()} (end); ratios below 1 mean Sigma Lab is faster than TA-Lib")


if __name__ == "__main__":
    main()
