"""What ``cryptodesk study`` prints: the progress bar (cells done, running and left, ETA), a
line per failed cell, and at the end the summary (mean ± std over seeds) and the verdicts."""

from __future__ import annotations

import shutil
import time
from typing import Any, TextIO

from cryptodesk.cli.progress import ConsoleProgress
from cryptodesk.jobs import TaskContext


class StudyConsole(ConsoleProgress):
    """A context for :func:`~cryptodesk.app.study.engine.run_study` that draws its events.

    On a terminal one redrawn bar line; otherwise (logs, CI, pipes) a line when a cell
    finishes or fails, at most every ``interval`` seconds for the rest."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False,
                 interval: float = 10.0) -> None:
        from cryptodesk.app.jobs.context import EventContext

        super().__init__(stream, interval)
        self.quiet = quiet
        self.ctx: TaskContext = EventContext(self._events, progress_s=0.2, partial_s=0.0).ctx

    def _events(self, events: list[Any]) -> None:
        from cryptodesk.app.study.events import CellFailed, StudyProgress, StudyStarted

        for event in events:
            if isinstance(event, StudyStarted):
                self._line(f"study {event.name}: {event.cells} cells, {event.skipped} already "
                           f"done, on {event.runner} ({event.workers} at once) -> {event.out}")
            elif isinstance(event, CellFailed):
                self._line(f"cell failed: {event.title}: {event.message}")
            elif isinstance(event, StudyProgress) and not self.quiet:
                self._draw(event)

    def _line(self, text: str) -> None:
        self.close()
        self.stream.write(text + "\n")
        self.stream.flush()

    def _draw(self, p: Any) -> None:
        now = time.monotonic()
        text = (f"{p.done}/{p.total} done, {p.running} running, {p.left} left"
                + (f", {p.failed} failed" if p.failed else "") + f", ETA {_eta(p.eta_s)}")
        if self.tty:
            width = max(10, min(30, shutil.get_terminal_size((100, 20)).columns - 90))
            filled = round(width * p.fraction)
            self.stream.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {text}  "
                              f"{p.message[:40]:<40}")
            self._drawn = True
        elif now - self._last_print >= self.interval or p.message.endswith(("done", "failed")):
            self._last_print = now
            self.stream.write(f"progress {text}: {p.message}\n")
        self.stream.flush()


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def print_cells(plan: Any) -> None:
    """The cells of a planned study (``--dry-run``), marked when already done."""
    todo = {c.id for c in plan.todo}
    for cell in plan.cells:
        print(f"  {'   ' if cell.id in todo else 'ok '} {cell.id}")
    print(f"{len(plan.cells)} cells, {len(plan.cells) - len(todo)} already done in "
          f"{plan.folder.root}")


def print_outcome(outcome: Any) -> None:
    """The end of ``study run``: counts, summary, verdicts, where the files are."""
    print(f"{outcome.done} of {outcome.cells} cells done ({outcome.skipped} from an earlier "
          f"run) in {outcome.seconds:.0f} s" + (f"; {len(outcome.failed)} failed" if
                                                 outcome.failed else ""))
    print_summary(outcome.leaderboard)
    print_verdicts(outcome.verdicts)
    print(f"files: {outcome.out}  ({', '.join(outcome.files)}, cells/)")


def print_summary(rows: list[dict[str, Any]]) -> None:
    """The leaderboard: mean ± std over seeds of each target's headline metrics (MAE, RMSE
    and Theil's U for prices; QLIKE and MZ R² for volatility)."""
    from cryptodesk.app.study.results import headline_metrics

    if not rows:
        print("no finished cells yet")
        return
    for target in dict.fromkeys(r["target"] for r in rows):
        metrics = headline_metrics(target)
        labels = {"mae": "MAE", "rmse": "RMSE", "theils_u": "Theil U", "qlike": "QLIKE",
                  "mz_r2": "MZ R2"}
        head = (f"{'series':<14} {'target':<10} {'model':<14} {'seeds':>5}  "
                + "  ".join(f"{labels[m]:>20}" for m in metrics))
        print(head)
        print("-" * len(head))
        for r in (r for r in rows if r["target"] == target):
            print(f"{r['series']:<14} {r['target']:<10} {r['model']:<14} {r['seeds']:>5}  "
                  + "  ".join(f"{_pm(r, m, 4 if m in ('theils_u', 'mz_r2') else 5):>20}"
                              for m in metrics))


def _pm(row: dict[str, Any], metric: str, digits: int = 5) -> str:
    mean, std = row.get(f"{metric}_mean"), row.get(f"{metric}_std")
    if mean is None:
        return "-"
    return f"{mean:.{digits}g}" + ("" if std is None else f" ± {std:.2g}")


def print_verdicts(verdicts: dict[str, Any], tests: bool = False) -> None:
    """Each comparison's verdict with the numbers that decide it (and each test)."""
    from cryptodesk.app.study.verdicts import describe

    comparisons = verdicts.get("comparisons", [])
    if not comparisons:
        return
    state = "" if verdicts.get("final") else " (provisional: not every cell has finished)"
    print(f"\nverdicts{state}:")
    for c in comparisons:
        print(f"  {c['comparison']}: {c['verdict'].upper()} ({c['because']})")
        for p in verdicts.get("pairs", []):
            if p["comparison"] == c["comparison"]:
                print(f"    {p['model']} vs {p['baseline']}: {p['verdict']}: {p['because']}")
    if tests:
        print("\ntests (% change of the model's error over the baseline's [CI], Holm p):")
        for t in [*verdicts.get("tests", []), *verdicts.get("pooled", [])]:
            print(f"  {t['model']} vs {t['baseline']}: {describe(t)}: {t['decision']}")


def print_markdown(verdicts: dict[str, Any]) -> None:
    """The verdicts as a Markdown table (the README's): one row per pair and metric, one
    column per series (% change [CI], Holm-adjusted DM p) and the pooled estimate."""
    tests = verdicts.get("tests", [])
    series = list(dict.fromkeys(t["series"] for t in tests))
    pooled = {(p["comparison"], p["baseline"], p["metric"]): p
              for p in verdicts.get("pooled", [])}
    level = round(100 * float(verdicts.get("level", 0.95)))
    print(f"| claim | model vs baseline | metric | {' | '.join(series)} | all series | verdict |")
    print(f"| --- | --- | --- | {' | '.join('---' for _ in series)} | --- | --- |")
    for c in verdicts.get("comparisons", []):
        for p in (p for p in verdicts.get("pairs", []) if p["comparison"] == c["comparison"]):
            for metric in dict.fromkeys(t["metric"] for t in tests
                                        if t["comparison"] == c["comparison"]):
                cells = []
                for s in series:
                    t = next((t for t in tests if t["comparison"] == c["comparison"]
                              and t["baseline"] == p["baseline"] and t["series"] == s
                              and t["metric"] == metric), None)
                    cells.append("–" if t is None else _md_change(t))
                pool = pooled.get((c["comparison"], p["baseline"], metric))
                print(f"| {c['comparison']} | {p['model']} vs {p['baseline']} | "
                      f"{metric.upper()} | {' | '.join(cells)} | "
                      f"{'–' if pool is None else _md_change(pool)} | **{p['verdict']}** |")
        print(f"| {c['comparison']} | **overall** | | {' | '.join('' for _ in series)} | | "
              f"**{c['verdict']}** |")
    print(f"\n% change of the model's error over the baseline's (negative: the model is "
          f"better), {level} % block-bootstrap interval, Holm-adjusted Diebold–Mariano p.")


def _md_change(t: dict[str, Any]) -> str:
    text = f"{t['estimate']:+.2f} % [{t['low']:+.2f}, {t['high']:+.2f}]"
    if t.get("dm_p_holm") is not None:
        text += f" p={t['dm_p_holm']:.2g}"
    return text.replace("-", "−")
