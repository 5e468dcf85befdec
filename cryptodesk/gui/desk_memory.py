"""The desk comes back as it was left: the last series, the ticked models, the settings forms,
and the last run's results (reloaded from its saved spec, report and forecasts).

:mod:`cryptodesk.app.desk_state` reads and writes the files; this module takes what the window
shows and puts it back. The state is written when a series is shown, when a run finishes (with
the run) and when the window closes; it is read once at start-up. A saved value a form refuses
(a model whose settings changed between versions) is skipped with a warning in the log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptodesk.app.desk_state import (
    DeskState,
    desk_folder,
    load_last_run,
    read_state,
    save_last_run,
    write_state,
)
from cryptodesk.errors import CryptoDeskError

if TYPE_CHECKING:
    from cryptodesk.gui.main_window import MainWindow

log = logging.getLogger(__name__)


def _triple(key: Any) -> tuple[str, str, str] | None:
    return None if key is None else (key.source, key.symbol, key.timeframe)


class DeskMemory:
    """Remembers the desk under ``<data>/desk`` (see module docstring)."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = desk_folder(data_dir)
        self.state = read_state(self.folder)
        self.window: MainWindow | None = None
        self.restored_run = False

    def series_key(self) -> tuple[str, str, str] | None:
        """The series shown when the desk was left (the data panel's first pick)."""
        return self.state.series

    def attach(self, window: MainWindow) -> None:
        """Follow ``window``: put the settings back once the forms exist, reload the last run,
        and save as the user goes."""
        self.window = window
        window.data_panel.series_loaded.connect(lambda _loaded: self.save())
        window.runs.run_finished.connect(self._on_run_finished)
        if window.training.wf_form is not None:
            self._restore_settings()
        else:
            window.training.forms_ready.connect(self._restore_settings)
        self._restore_run()

    # ---------------------------------------------------------------- restoring
    def _restore_settings(self) -> None:
        tp, state = self.window.training, self.state
        known = set(tp.model_names())
        if state.checked:
            tp.set_checked([n for n in state.checked if n in known])
        for what, values, setter in (("walk-forward", state.walk_forward, tp.set_spec),
                                     ("trading", state.strategy, tp.set_strategy)):
            self._apply(what, lambda v=values, s=setter: s(**v) if v else None)
        for name, values in state.forms.items():
            if name in known:
                self._apply(name, lambda n=name, v=values: self._set_form(n, v))

    def _set_form(self, name: str, values: dict[str, Any]) -> None:
        form = self.window.training.ensure_form(name)
        if form is not None and values:
            form.set_values(values)

    @staticmethod
    def _apply(what: str, action: Any) -> None:
        try:
            action()
        except (CryptoDeskError, TypeError, ValueError, KeyError) as exc:
            log.warning("saved %s settings not restored: %s", what,
                        " ".join(str(exc).split())[:160])

    def _restore_run(self) -> None:
        """The last run's results back into the session, on their own series."""
        key = self.state.run_series
        if key is None:
            return
        result = load_last_run(self.folder)
        if result is None:
            return
        from cryptodesk.data.schema import SeriesKey

        try:
            series_key = SeriesKey(*key)
        except (CryptoDeskError, TypeError) as exc:
            log.warning("saved last run not restored: %s", exc)
            return
        session = self.window.session
        session.begin_run(series_key, result.spec, "Last run")
        session.finish_run(series_key, result,
                           "Last run restored from its saved spec and report (no trading "
                           "view: run again for the equity curves)")
        self.restored_run = True

    # ---------------------------------------------------------------- saving
    def snapshot(self) -> DeskState:
        """What the window shows now, as a :class:`DeskState`."""
        w = self.window
        tp = w.training
        forms = {}
        for name in tp.checked():
            form = tp.form(name)
            if form is not None:
                try:
                    forms[name] = form.config().to_dict()
                except CryptoDeskError:  # an invalid value in the form: not remembered
                    pass
        wf = strategy = {}
        try:
            wf = tp.spec().to_dict() if tp.wf_form is not None else self.state.walk_forward
            strategy = (tp.strategy().to_dict() if tp.strategy_form is not None
                        else self.state.strategy)
        except CryptoDeskError:
            pass
        return DeskState(series=_triple(w.session.key) or self.state.series,
                         checked=tuple(tp.checked()), forms=forms or self.state.forms,
                         walk_forward=wf, strategy=strategy, run_series=self.state.run_series)

    def save(self) -> None:
        """Write the state (never in the way: a write that fails is logged)."""
        if self.window is None:
            return
        try:
            self.state = self.snapshot()
            write_state(self.folder, self.state)
        except OSError as exc:
            log.warning("cannot save the desk state: %s", exc)

    def _on_run_finished(self, result: Any) -> None:
        key = self.window.session.progress.key  # the run's series (finish_run set it)
        try:
            save_last_run(self.folder, result)
        except (OSError, ValueError) as exc:
            log.warning("cannot save the last run: %s", exc)
            return
        self.state = DeskState(**{**self.state.__dict__, "run_series": _triple(key)})
        self.save()
