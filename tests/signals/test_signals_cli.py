"""``sigma-lab signals run / list / track`` on the fast model."""

from __future__ import annotations

from signal_helpers import OPEN_POLICY
from typer.testing import CliRunner

from sigma_lab.signals.cli import signals_app
from sigma_lab.store import repo, session_scope


def test_run_list_and_track_commands_print_the_stored_signal_and_its_record(fast_model: str) -> None:
    with session_scope() as session:
        repo.add_policy_version(session, fast_model, OPEN_POLICY)
    runner = CliRunner()
    run = runner.invoke(signals_app, ["run", fast_model, "--asof", "2012-06-01"])
    assert run.exit_code == 0, run.output
    assert run.output.startswith("new signal 1 2012-06-01 AAPL   long")
    again = runner.invoke(signals_app, ["run", fast_model, "--asof", "2012-06-01"])
    assert again.output.startswith("signal 1 ")
    listed = runner.invoke(signals_app, ["list", "--model-id", fast_model])
    assert listed.output.rstrip().endswith("[pending]")
    tracked = runner.invoke(signals_app, ["track", "--model-id", fast_model])
    assert tracked.exit_code == 0 and tracked.output.startswith("1 signal(s) closed")
    assert '"closed": 1' in tracked.output
    closed = runner.invoke(signals_app, ["list"]).output
    assert any(f"[{outcome} " in closed for outcome in ("stop", "target", "time_stop"))


def test_run_of_an_unknown_model_fails_with_one_clear_line(workspace: object) -> None:
    result = CliRunner().invoke(signals_app, ["run", "nosuch_eq_swing_daily"])
    assert result.exit_code == 1 and "nosuch_eq_swing_daily" in result.output
