"""Sentiment and other external signals as leak-free features (issue 9).

Modules, each imported only when used (importing this package loads nothing heavy):

- :mod:`.text_import`: read the user's texts from CSV or JSON Lines (UTF-8, columns detected
  or chosen, duplicates removed);
- :mod:`.lexicon` and :mod:`.scorers`: offline polarity scores in [-1, 1] (fast VADER-style
  lexicon scorer with our crypto vocabulary; exact VADER; an optional local transformer);
- :mod:`.datasets`: scored text datasets stored per name under the user data directory;
- :mod:`.aggregate`: per-bar sentiment, message count, negative share and divergence, using
  only texts stamped before each bar's close; :func:`.aggregate.sentiment_features` joins them
  onto candles for ``FeatureSpec(external=...)``;
- :mod:`.series_import`: other numeric series (on-chain, funding, search trends) with a
  quality report, joined as-of;
- :mod:`.features`: the JSON record of which external columns a frame carries, and
  :func:`.features.rebuild_external` to make them again for a saved model.
"""
