"""External features in the training panel: a scored sentiment dataset joined into the run's
candles, its columns added to the feature-using models, and its chart under the price chart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.gui.helpers import tiny_run

pytestmark = pytest.mark.gui


def _make_datasets() -> None:
    from cryptodesk.data.demo import generate_demo
    from cryptodesk.sentiment.datasets import TextDatasets, score_dataset
    from cryptodesk.sentiment.scorers import LexiconScorer

    candles = generate_demo("1d")
    rng = np.random.default_rng(3)
    n = 4000
    span = int((candles.index[-1] - candles.index[0]).total_seconds())
    times = candles.index[0] + pd.to_timedelta(rng.integers(0, span, n), unit="s")
    words = np.array(["to the moon", "rekt again", "hodl", "rug pull scam", "fine"], dtype=object)
    texts = TextDatasets()
    texts.merge("posts", pd.DataFrame({"time": times, "text": rng.choice(words, n)}))
    score_dataset(texts, "posts", LexiconScorer())
    texts.merge("raw", pd.DataFrame({"time": times[:10], "text": words[:1].repeat(10)}))


def test_sentiment_dataset_feeds_run_and_chart(window, qtbot) -> None:
    _make_datasets()
    tp, chart = window.training, window.chart
    with qtbot.waitSignal(tp.picker.datasets_listed, timeout=15_000):
        tp.picker.refresh()
    combo = tp.picker.combo
    assert [combo.itemData(i) for i in range(combo.count())] == [None, "posts", "raw"]
    assert not combo.model().item(2).isEnabled()  # not scored: cannot be picked
    assert "not scored" in combo.itemText(2)
    assert not chart.sentiment.shown
    with qtbot.waitSignal(window.sentiment.ready, timeout=30_000):
        assert tp.picker.set_dataset("posts")
    assert chart.sentiment.shown
    names = [c.name() for c in chart.sentiment.curves]
    assert names == ["sent_posts_score", "sent_posts_neg_share"]
    assert len(chart.sentiment.curves[0].xData) == 3000
    assert chart.sentiment.view_box.linkedView(0) is chart.price.view_box

    # the run joins the dataset and LightGBM sees its columns as external features
    tiny_run(window, ["lightgbm", "drift"], test_size=20)
    tp.select_model("lightgbm")
    qtbot.waitUntil(lambda: tp.form("lightgbm") is not None, timeout=30_000)
    tp.form("lightgbm").set_values({"n_estimators": 15, "quantiles": False})
    with qtbot.waitSignal(window.run_finished, timeout=90_000) as blocker:
        window.start_training()
    result = blocker.args[0]
    spec = result.spec
    assert spec.sentiment is not None and spec.sentiment.dataset == "posts"
    external = spec.model("lightgbm").config["features"]["external"]
    assert "sent_posts_score" in external and len(external) == 4
    assert "features" not in spec.model("drift").config
    assert "used by lightgbm" in window.training.progress_label.text()
    assert result.metrics()["lightgbm"]["n"] == 20

    # none: the row goes away
    tp.picker.set_dataset(None)
    assert not chart.sentiment.shown
