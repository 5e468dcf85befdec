"""The panels of the main window: data, training, results, model library (and the parameter
form they draw settings with). Each takes the session and what else it needs, nothing from the
window, so it opens alone in a test or a screenshot."""
