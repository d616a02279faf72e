"""The types of the addon's bus notifications, for the server, scripts and tests.

They are written once, in static/src/bus_notifications.js, where the web client's
modules import them; this module reads them from there. It imports nothing of Odoo:
scripts/ and bench/ import it with the addon's folder on ``sys.path``
(``import bus_notifications``), the addon as ``..bus_notifications``."""
import pathlib
import re

_SOURCE = pathlib.Path(__file__).parent / "static" / "src" / "bus_notifications.js"
_NAMES = dict(
    re.findall(
        r'^export const ([A-Z_]+)_NOTIFICATION = "([^"]+)";$',
        _SOURCE.read_text(encoding="utf-8"),
        re.MULTILINE,
    )
)

MEMBER_STATE = _NAMES["MEMBER_STATE"]
CALLBACKS = _NAMES["CALLBACKS"]
CALLER_CARD = _NAMES["CALLER_CARD"]
WALLBOARD = _NAMES["WALLBOARD"]
