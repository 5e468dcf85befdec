"""Evaluation: walk-forward runner (:mod:`.walkforward`), metrics (:mod:`.metrics`), the
Diebold–Mariano test (:mod:`.significance`), multi-model backtests with the naive baseline
always included (:mod:`.backtest`), named protocols (:mod:`.presets`) and the leaderboard
(:mod:`.leaderboard`)."""
