"""Studies at scale: one spec, many walk-forwards (series × model × target × seed), run on
every core of this machine or on a Ray cluster, with verdicts on the comparisons it names.

Modules, one job each: :mod:`.spec` (the TOML spec), :mod:`.cells` (expansion into cells and
their keys), :mod:`.cell_job` (one cell as a job), :mod:`.local` and :mod:`.ray_runner` (where
cells run), :mod:`.engine` (running a study into its folder), :mod:`.folder` (the output
folder), :mod:`.results` (leaderboard), :mod:`.verdicts`, :mod:`.report` and
:mod:`.report_html` (closing files), :mod:`.builtin` (shipped studies), :mod:`.api` and
:mod:`.job` (what the front ends call). Importing this package imports none of them.
"""
