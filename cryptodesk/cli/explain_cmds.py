"""``cryptodesk explain``: what a saved model's forecasts rest on.

    cryptodesk explain --model "lgbm btc"                       # global importance, printed
    cryptodesk explain --model "lgbm btc" --out importance.csv --contributions contrib.csv

LightGBM: mean |SHAP| (LightGBM's own ``pred_contrib``) over the last ``--bars`` forecasts;
nets: permutation importance on the validation tail of the training window; ensembles: the
members' weights. ``--contributions`` also writes each forecast's per-input contributions.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``explain`` command."""
    p = sub.add_parser("explain", help="global importance of a saved model's inputs (CSV)")
    p.add_argument("--model", required=True, help="saved model id, id prefix or label")
    p.add_argument("--symbol", help="stored series to explain on (default: the model's own)")
    p.add_argument("--timeframe", help="pick the timeframe when several are stored")
    p.add_argument("--source", help="pick the source when several are stored")
    p.add_argument("--bars", type=int, default=365,
                   help="explain the forecasts from the last N bars (default 365)")
    p.add_argument("--repeats", type=int, default=5,
                   help="shuffles per input for the nets' permutation importance (default 5)")
    p.add_argument("--out", type=Path, help="write the importance table as CSV "
                                            "(default: <model id>.importance.csv)")
    p.add_argument("--contributions", type=Path, metavar="CONTRIB.csv",
                   help="also write each forecast's per-input contributions")
    p.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    """Explain, print the ranking, write the CSV files."""
    from cryptodesk.app.explain import explain_bundle, own_series, write_explanation
    from cryptodesk.cli.models_cmds import _load_series
    from cryptodesk.cli.progress import console_context
    from cryptodesk.errors import ModelError
    from cryptodesk.io.bundles import ModelLibrary

    if args.bars < 1 or args.repeats < 1:
        raise ModelError("--bars and --repeats must be at least 1")
    info = ModelLibrary().resolve(args.model)
    candles = (_load_series(args.symbol, args.timeframe, args.source) if args.symbol
               else own_series(info.manifest))
    ctx, drawer = console_context(quiet=True)
    del drawer
    expl = explain_bundle(info.id, candles, ctx, args.bars, repeats=args.repeats)
    print(f"{expl.label} ({expl.kind}): {expl.method} importance over "
          f"{len(expl.x)} forecasts; {expl.unit}")
    width = max([len(f) for f in expl.features] + [7])
    for rank, (feature, value) in enumerate(zip(expl.features, expl.importance, strict=True), 1):
        print(f"  {rank:>3} {feature:<{width}} {value:.6g}")
    for note in expl.notes:
        print(note)
    out = args.out or Path(f"{info.id}.importance.csv")
    for path in write_explanation(expl, out, args.contributions):
        print(f"wrote {path}")
    return 0
