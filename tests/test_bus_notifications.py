"""The types of the bus notifications: written once (static/src/bus_notifications.js),
read by the server and the scripts (bus_notifications.py)."""
import re
import subprocess
import sys
from pathlib import Path

from odoo.tests import TransactionCase, tagged

from .. import bus_notifications
from ..models import bus_messages

ADDON = Path(__file__).resolve().parent.parent


@tagged("post_install", "-at_install")
class TestBusNotifications(TransactionCase):
    def test_every_type_of_the_web_client_is_read(self):
        source = (ADDON / "static/src/bus_notifications.js").read_text()
        exported = re.findall(r"^export const (\w+) =", source, re.MULTILINE)
        self.assertEqual(
            sorted(exported),
            sorted(f"{name}_NOTIFICATION" for name in bus_notifications._NAMES),
        )
        self.assertEqual(
            bus_notifications._NAMES,
            {
                "MEMBER_STATE": "voip_axivox_queue/member_state",
                "CALLBACKS": "voip_axivox_queue/callbacks",
                "CALLER_CARD": "voip_axivox_queue/caller_card",
                "WALLBOARD": "voip_axivox_queue/wallboard",
            },
        )
        self.assertEqual(bus_messages.MEMBER_STATE, bus_notifications.MEMBER_STATE)

    def test_the_scripts_read_them_without_odoo(self):
        """scripts/ import the module from the addon's folder, Odoo not imported."""
        probe = (
            "import sys; sys.path.insert(0, sys.argv[1]); import bus_notifications; "
            "assert 'odoo' not in sys.modules; print(bus_notifications.MEMBER_STATE)"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe, str(ADDON)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        self.assertEqual(out.stdout.strip(), "voip_axivox_queue/member_state")
