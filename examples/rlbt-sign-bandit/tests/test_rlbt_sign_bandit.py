"""Runs SignBandit on rlbt's bundled data and checks it never reads the future."""

from rlbt import backtest, check_lookahead

from rlbt_sign_bandit.strategy import SignBandit


def test_runs_on_bundled_data() -> None:
    result = backtest(SignBandit, "orcl", start="2012-01-01", episodes=1)
    assert len(result.test.actions) > 100
    assert result.test.metrics["final_value"] > 0


def test_no_look_ahead() -> None:
    report = check_lookahead(SignBandit, "orcl", cuts=2, start="2013-01-01", episodes=1)
    assert report.clean, [str(leak) for leak in report.leaks]
