"""CryptoDesk: forecast cryptocurrency prices honestly.

This module holds the version only. Importing the package must stay cheap: no torch, LightGBM,
ccxt or Qt here (a test checks it), so the CLI starts fast and the GUI can load heavy libraries
in the background.
"""

__version__ = "0.1.0"
