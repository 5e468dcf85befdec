"""Causal features over candle frames: the JSON-able :class:`~.spec.FeatureSpec`, the builders
(:mod:`.builders`, :mod:`.indicators`), targets (:mod:`.targets`), external as-of joins
(:mod:`.external`), train-window scaling (:mod:`.scaling`) and zero-copy windowing for sequence
models (:mod:`.windows`). Causal means: the feature row at time t depends only on rows <= t."""
