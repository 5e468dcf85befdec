"""Offline scorers: the example set, VADER's rules, the interface, and missing optional parts."""

from __future__ import annotations

import csv
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptodesk.sentiment.errors import SentimentError
from cryptodesk.sentiment.lexicon import load_lexicon, parse_lexicon_tsv
from cryptodesk.sentiment.scorers import (
    LexiconScorer,
    Scorer,
    available_scorers,
    get_scorer,
    load_transformer_scorer,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "sentiment_examples.csv"
CLEAR = ("positive", "negative", "neutral", "slang", "emoji", "non_english", "mixed", "negation")
HAS_VADER = __import__("importlib").util.find_spec("vaderSentiment") is not None


def _sign(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0.05, 1, np.where(x < -0.05, -1, 0))


@pytest.fixture(scope="module")
def scorer() -> LexiconScorer:
    return LexiconScorer()


@pytest.fixture(scope="module")
def examples() -> list[dict[str, str]]:
    with EXAMPLES.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_example_set_is_a_few_hundred_varied_lines(examples: list[dict[str, str]]) -> None:
    cats = {r["category"] for r in examples}
    assert len(examples) >= 250
    assert {"positive", "negative", "neutral", "slang", "sarcasm", "emoji", "non_english"} <= cats
    assert all(r["expected_sign"] in ("-1", "0", "1") for r in examples)


@pytest.mark.parametrize("category", CLEAR)
def test_clear_examples_get_the_expected_sign(scorer, examples, category: str) -> None:
    rows = [r for r in examples if r["category"] == category]
    got = _sign(scorer.score([r["text"] for r in rows]))
    want = np.array([int(r["expected_sign"]) for r in rows])
    wrong = [r["text"] for r, g, w in zip(rows, got, want, strict=True) if g != w]
    assert (got == want).mean() >= 0.9, wrong


def test_sarcasm_is_a_known_limit_not_a_crash(scorer, examples) -> None:
    """A lexicon cannot read sarcasm; the set documents it. Scores stay valid numbers."""
    rows = [r["text"] for r in examples if r["category"] == "sarcasm"]
    scores = scorer.score(rows)
    assert np.all(np.isfinite(scores)) and np.all(np.abs(scores) <= 1)


@pytest.mark.skipif(not HAS_VADER, reason="vaderSentiment not installed")
def test_fast_scorer_agrees_with_exact_vader_on_plain_english(examples) -> None:
    from cryptodesk.sentiment.scorers import VaderScorer

    rows = [r["text"] for r in examples if r["category"] in ("positive", "negative", "neutral", "mixed")]
    fast = LexiconScorer().score(rows)
    exact = VaderScorer().score(rows)
    assert (_sign(fast) == _sign(exact)).mean() >= 0.95
    assert np.corrcoef(fast, exact)[0, 1] > 0.95


def test_scores_are_bounded_and_missing_texts_are_neutral(scorer) -> None:
    texts = ["GREAT!!!! " * 50, "terrible awful horrible " * 40, "", None, "   ", "🚀" * 30]
    scores = scorer.score(texts)
    assert scores.dtype == np.float64 and scores.shape == (6,)
    assert np.all(np.abs(scores) <= 1.0)
    assert scores[2] == scores[3] == scores[4] == 0.0
    assert scores[0] > 0.9 and scores[1] < -0.9 and scores[5] > 0.9


def test_vader_rules(scorer) -> None:
    s = scorer.score_one
    assert s("this is good") > 0 > s("this is not good")
    assert s("this is very good") > s("this is good") > s("this is slightly good")
    assert s("this is GOOD today") > s("this is good today")  # caps emphasis (mixed case)
    assert s("this is good!!!") > s("this is good")
    assert s("the fees are bad but the app is great") > 0  # what follows "but" weighs more
    assert s("the app is great but the fees are bad") < 0
    assert s("no gains") < 0 and s("no gains, just pain") < s("no gains")
    assert s("never been this happy") > 0  # "never so/this" intensifies
    assert s("I don’t like it") < 0  # typographic apostrophe


def test_negation_stops_at_clause_punctuation(scorer) -> None:
    assert scorer.score_one("not now. good times") > 0
    assert scorer.score_one("not good times") < 0


def test_crypto_vocabulary_and_phrases(scorer) -> None:
    s = scorer.score_one
    for text in ("to the moon", "HODL", "wagmi", "bullish", "LFG", "🚀"):
        assert s(text) > 0.2, text
    for text in ("rekt", "rug pull", "FUD", "ngmi", "pump and dump", "📉"):
        assert s(text) < -0.2, text
    # a phrase counts once: "rug pull" is not rug + pull
    assert abs(s("rug pull") - s("rugpull")) < 1e-12
    assert s("The block height is 820000") == 0.0  # crypto overrides VADER's "block"


def test_batches_and_chunks_do_not_change_scores(examples) -> None:
    texts = [r["text"] for r in examples]
    whole = LexiconScorer().score(texts)
    chunked = LexiconScorer(chunk_size=7).score(texts)
    single = np.array([LexiconScorer(chunk_size=1).score_one(t) for t in texts[:40]])
    np.testing.assert_array_equal(whole, chunked)
    np.testing.assert_allclose(whole[:40], single, rtol=0, atol=0)


def test_identity_names_scorer_and_lexicon_versions(scorer) -> None:
    ident = scorer.identity()
    assert ident["scorer"] == "lexicon"
    assert ident["lexicon"]["crypto"]["version"] == 1
    assert len(ident["lexicon"]["crypto"]["sha256"]) == 16
    assert isinstance(scorer, Scorer)


def test_works_without_vader_lexicon() -> None:
    lex = load_lexicon(use_vader=False)
    crypto_only = LexiconScorer(lex)
    assert crypto_only.score_one("HODL to the moon 🚀") > 0
    assert crypto_only.score_one("got rekt in the crash") < 0
    assert crypto_only.identity()["lexicon"].get("vader") is None


def test_missing_vader_package_is_a_note_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptodesk.sentiment import lexicon

    monkeypatch.setattr(lexicon, "_vader_texts", lambda: None)
    lex = lexicon.load_lexicon()
    assert lex.notes and "vaderSentiment" in lex.notes[0]
    assert LexiconScorer(lex).score_one("rekt") < 0


def test_lexicon_file_errors_are_clear() -> None:
    assert parse_lexicon_tsv("# c\nmoon\t2.5\tnote\nTo  The Moon\t3\n") == {"moon": 2.5, "to the moon": 3.0}
    with pytest.raises(SentimentError, match="line 1"):
        parse_lexicon_tsv("moon 2.5")
    with pytest.raises(SentimentError, match="not a number"):
        parse_lexicon_tsv("moon\tx")
    with pytest.raises(SentimentError, match=r"\[-4, 4\]"):
        parse_lexicon_tsv("moon\t9")


def test_get_scorer_and_availability(tmp_path: Path) -> None:
    assert get_scorer("lexicon").name == "lexicon"
    with pytest.raises(SentimentError, match="unknown scorer"):
        get_scorer("magic")
    with pytest.raises(SentimentError, match="transformer scorer unavailable"):
        get_scorer("transformer", model_path=tmp_path)
    infos = {i.name: i for i in available_scorers()}
    assert infos["lexicon"].available
    assert not infos["transformer"].available and infos["transformer"].reason
    assert infos["vader"].available == HAS_VADER


def test_absent_transformer_model_is_explained_not_raised(tmp_path: Path) -> None:
    assert load_transformer_scorer(None)[0] is None
    scorer, reason = load_transformer_scorer(tmp_path / "nothing")
    assert scorer is None and "config.json" in reason


def test_transformer_scorer_maps_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a (fake) transformers package and a model folder, P(pos) - P(neg) is the score."""
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    calls: dict[str, object] = {}

    def pipeline(task: str, **kwargs: object):
        calls.update(task=task, **kwargs)

        def run(texts: list[str], **_: object) -> list[list[dict]]:
            return [[{"label": "Positive", "score": 0.7}, {"label": "negative", "score": 0.2},
                     {"label": "neutral", "score": 0.1}] for _ in texts]

        return run

    monkeypatch.setitem(sys.modules, "transformers", types.SimpleNamespace(pipeline=pipeline))
    scorer, reason = load_transformer_scorer(tmp_path)
    assert scorer is not None and reason == ""
    assert calls["task"] == "text-classification" and calls["model"] == str(tmp_path)
    np.testing.assert_allclose(scorer.score(["good", "", None]), [0.5, 0.0, 0.0])
    assert scorer.identity()["scorer"] == "transformer"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=80)), max_size=25))
def test_any_text_scores_in_range_and_batches_are_independent(texts: list[str | None]) -> None:
    scorer = _SHARED
    scores = scorer.score(texts)
    assert scores.shape == (len(texts),) and np.all(np.abs(scores) <= 1.0)
    for text, value in zip(texts[:5], scores[:5], strict=False):
        assert scorer.score([text])[0] == value


def test_lone_surrogates_do_not_crash_the_scorer() -> None:
    assert _SHARED.score(["good \ud800 day"])[0] > 0


_SHARED = LexiconScorer()
