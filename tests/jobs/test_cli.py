"""The `sigma-lab run` and `sigma-lab jobs` command functions, wired into a throw-away Typer app."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from sigma_lab.jobs_cli import RUN_CONTEXT, jobs_app, parse_params, run_command


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("run", context_settings=RUN_CONTEXT)(run_command)
    app.add_typer(jobs_app, name="jobs")
    return app


def test_run_passes_p_name_value_pairs_as_typed_parameters_and_jobs_show_lists_them(jobs_env):
    runner = CliRunner()
    result = runner.invoke(_app(), ["run", "report", "-p", "limit", "3"])
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output and "report.ipynb" in result.output
    shown = runner.invoke(_app(), ["jobs", "show", "1"])
    assert json.loads(shown.output)["params"] == {"limit": 3}
    listed = runner.invoke(_app(), ["jobs", "list", "--status", "succeeded"])
    assert listed.output.splitlines()[1].startswith("1\tnotebook\tsucceeded")


def test_parse_params_reads_values_as_yaml():
    parsed = parse_params(["fast", "5", "symbol", "SPY", "flag", "true"])
    assert parsed == {"fast": 5, "symbol": "SPY", "flag": True}
