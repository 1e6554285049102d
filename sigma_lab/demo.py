"""The main job on embedded defaults: ``sigma-lab demo`` (``make demo``).

It walks the pipeline on the bundled sample data: load and validate real bars and store
them, build a daily and an hourly training matrix, train a model with walk-forward
validation and backtest it on its out-of-fold scores, with the risk-profile gate's
verdict; sweep a rule strategy and rank the results with deflated Sharpe. Everything
lands in the workspace (SQLite store, Parquet data, artifacts), so the
leaderboard and dashboards can show it.
"""

from __future__ import annotations

from collections.abc import Callable

from sigma_lab.config import get_settings

DAILY_MODEL = "aapl_eq_swing_daily"
HOURLY_MODEL = "spy_eq_intraday_hourly_momentum"

Echo = Callable[[str], None]


def _heading(echo: Echo, text: str) -> None:
    echo("")
    echo(f"== {text}")


def demo_data(echo: Echo = print) -> None:
    """Load, validate and store the sample bars and option minutes; print a summary."""
    from sigma_lab.data import BarStore, load, load_option_bars
    from sigma_lab.data.sources import get_source

    store = BarStore()
    source = get_source("sample")
    for symbol in source.symbols():
        timeframe = "1h" if symbol == "SPY" else "1d"
        bars = load(symbol, timeframe=timeframe, source="sample")
        written = store.write("sample", symbol, timeframe, bars)
        echo(
            f"{symbol:<5} {timeframe:<3} {len(bars):>6} bars  {bars.index[0]:%Y-%m-%d} .. "
            f"{bars.index[-1]:%Y-%m-%d}  last close {bars['close'].iloc[-1]:>9.2f}  stored {written}"
        )
    options = load_option_bars("SPY")
    sessions = options["timestamp"].dt.tz_convert("America/New_York").dt.date.nunique()
    echo(
        f"SPY 0DTE options: {options['contract'].nunique()} contracts, {len(options)} minute bars, "
        f"{sessions} sessions"
    )


def demo_build(echo: Echo = print) -> None:
    """Build one daily and one hourly matrix with QA and lineage."""
    from sigma_lab.matrix import build_matrix

    for model_id in (DAILY_MODEL, HOURLY_MODEL):
        result = build_matrix(model_id, progress=False)
        features = len(result.manifest["feature_columns"])
        echo(
            f"{model_id}: {result.rows} rows x {features} features, QA {result.qa_status}, "
            f"matrix {result.matrix_hash[:12]}"
        )


def demo_train(echo: Echo = print) -> None:
    """Train the daily model with walk-forward validation."""
    from sigma_lab.train import train

    result = train(DAILY_MODEL)
    m = result.metrics
    echo(
        f"{DAILY_MODEL}: {m['n_folds']} walk-forward folds, out-of-fold AUC {m['auc']:.3f} "
        f"(per fold {m['auc_mean']:.3f} +/- {m['auc_std']:.3f}), log loss {m['log_loss']:.3f}"
    )
    top = result.importances.head(5)
    echo("top features: " + ", ".join(top["feature"].astype(str)))


def demo_backtest(echo: Echo = print) -> None:
    """Backtest the trained model on its out-of-fold scores, per fold and combined, with its gate."""
    from sigma_lab.backtest.runs import format_report, run_model

    echo(format_report(run_model(DAILY_MODEL, tag="demo")))


SWEEP_GRID = {"fast": [5, 10, 15, 20, 30, 40, 50], "slow": [60, 80, 100, 120, 150, 200]}


def demo_sweep(echo: Echo = print) -> None:
    """Sweep an SMA crossover on AAPL, rank the runs with deflated Sharpe and gate verdicts."""
    import pandas as pd

    from sigma_lab import leaderboard, sweep
    from sigma_lab.data import load

    bars = load("AAPL", timeframe="1d", source="sample")
    result = sweep(
        bars,
        "sma_cross",
        grid=SWEEP_GRID,
        fees_bps=1.0,
        persist=True,
        keep=5,
        tag="demo",
        ticker="AAPL",
        progress=False,
    )
    echo(f"sweep {result.sweep_id}: {len(result.table)} configurations of sma_cross on AAPL daily")
    rows = leaderboard("sharpe", sweep_id=result.sweep_id, limit=5).rows
    table = pd.DataFrame(
        {
            "run": rows["id"],
            "fast": [p["fast"] for p in rows["params"]],
            "slow": [p["slow"] for p in rows["params"]],
            "sharpe": rows["sharpe"].round(3),
            "deflated_sharpe": rows["deflated_sharpe"].round(3),
            "max_drawdown": [round(m["max_drawdown"], 3) for m in rows["metrics"]],
            "trades": [int(m["trades"]) for m in rows["metrics"]],
            "gate": [
                "pass" if ok else "fail: " + ", ".join(r)
                for ok, r in zip(rows["gate_pass"], rows["gate_reasons"], strict=True)
            ],
        }
    )
    echo("leaderboard of this sweep, best Sharpe first; deflated Sharpe allows for the configurations tried:")
    echo(table.to_string(index=False))
    path = get_settings().workspace_path / "reports" / "demo_sweep_heatmap.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    result.heatmap("fast", "slow", "sharpe").write_html(path, include_plotlyjs=True)
    echo(f"heatmap of Sharpe over fast x slow: {path}")


STAGES: tuple[tuple[str, Callable[[Echo], None]], ...] = (
    ("Market data", demo_data),
    ("Training matrices", demo_build),
    ("Training", demo_train),
    ("Backtest of the trained model", demo_backtest),
    ("Sweep and leaderboard", demo_sweep),
)


def run_demo(echo: Echo = print) -> None:
    """Run every stage of the demo, printing what each produced, and say where to look next."""
    from sigma_lab.dashboards import dashboard_url

    settings = get_settings()
    echo(f"Sigma Lab demo - workspace {settings.workspace_path}, store {settings.database}")
    for title, stage in STAGES:
        _heading(echo, title)
        stage(echo)
    _heading(echo, "Dashboards")
    echo("Start them with `.venv/bin/sigma-lab dashboards`, then open")
    echo(f"  {dashboard_url('leaderboard')}")
    echo(f"  {dashboard_url('model', model_id=DAILY_MODEL)}")
