"""Reference Axivox-compatible PBX simulator.

Run it with ``python -m axivox_simulator --help``. Importing this package
imports nothing heavy (aiohttp is only imported by ``server``); tests use
:mod:`axivox_simulator.testing` to run it as a subprocess.
"""
import os

__version__ = "1.0.0"

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
DEMO_DATA = os.path.join(DATA_DIR, "demo.json")
