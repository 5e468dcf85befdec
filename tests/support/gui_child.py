"""The start of a script run in a fresh GUI process by the tests that check what that process
imports (torch, LightGBM, Optuna, Ray must stay out): the window is created and shown, and
``spin(cond, limit)`` runs its event loop until ``cond()`` holds. The tests append their steps."""

GUI_CHILD_PREAMBLE = r"""
import sys, time
from pathlib import Path
from cryptodesk.gui.app import application, create_window
app = application()
win = create_window(app)
win.show()

def spin(cond, limit):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > limit:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(0.005)

spin(lambda: win.data_panel.current is not None and win.training.wf_form is not None, 120)
"""
