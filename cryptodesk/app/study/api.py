"""The study workflows both front ends call: open a spec, pick a runner, find and load a
study's results. The GUI's Study panel uses these plus the ``study`` job
(:mod:`cryptodesk.app.study.job`); the CLI runs :func:`~cryptodesk.app.study.engine.run_study`
inline with the same runners.
"""

from __future__ import annotations

from typing import Any

from cryptodesk.app.study.opening import (
    STUDIES,
    StudyView,
    default_out,
    find_study,
    load_study,
    open_spec,
)

__all__ = ["STUDIES", "StudyView", "default_out", "find_study", "load_study", "make_runner",
           "open_spec"]


def make_runner(workers: int | None = None, ray: str | None = None, threads: int = 1) -> Any:
    """The runner: a Ray cluster at ``ray``, else local worker processes (every core when
    ``workers`` is None)."""
    if ray:
        from cryptodesk.app.study.ray_runner import RayRunner

        return RayRunner(ray, threads)
    from cryptodesk.app.study.local import LocalRunner

    return LocalRunner(workers, threads)
