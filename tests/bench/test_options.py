"""`resolver bench` refuses options that do not belong to the scenario, before it starts
anything (no database, Redis or processes are touched)."""

from __future__ import annotations

from click.testing import CliRunner

from worker.cli.base import main


def test_steady_refuses_a_transfer_count_because_rate_and_duration_make_it():
    # when steady is given --transfers
    result = CliRunner().invoke(main, ["bench", "--scenario", "steady", "--transfers", "500"])

    # then it is refused with the reason
    assert result.exit_code == 2
    assert "rate x duration" in result.output


def test_drain_refuses_a_rate():
    # when the drain is given --rate
    result = CliRunner().invoke(main, ["bench", "--scenario", "drain", "--rate", "50"])

    # then it is refused: only steady takes it
    assert result.exit_code == 2
    assert "only the steady scenario" in result.output
