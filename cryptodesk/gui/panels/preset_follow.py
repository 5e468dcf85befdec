"""Walk-forward settings that follow the series' timeframe.

WF1 uses 365 test bars refitted every 30 on daily data and 720 refitted every 168 on hourly
data (:mod:`cryptodesk.evaluation.presets`). When a series of the other kind is shown, the
settings the user has not changed (still the preset's numbers for the previous timeframe)
move to the preset's numbers for the new one; once the user has typed either, both stay (a
mixed pair would be neither the user's protocol nor WF1).
"""

from __future__ import annotations

from typing import Any

FOLLOWED = ("test_size", "refit_every")


def preset_update(current: dict[str, Any], old_timeframe: str,
                  new_timeframe: str) -> dict[str, Any]:
    """The walk-forward values to set for ``new_timeframe`` ({} when none should change)."""
    from cryptodesk.errors import CryptoDeskError
    from cryptodesk.evaluation.presets import preset_spec

    try:
        old = preset_spec("wf1", old_timeframe).to_dict()
        new = preset_spec("wf1", new_timeframe).to_dict()
    except CryptoDeskError:  # an unknown timeframe: leave the settings alone
        return {}
    if old == new:
        return {}
    if any(current.get(k) != old[k] for k in FOLLOWED):  # the user set them: theirs stay
        return {}
    return {k: new[k] for k in FOLLOWED}
