"""What the addon's odoo-bin commands share: one database, and running until stopped."""
import signal
import sys
import threading
import time

import odoo
from odoo.tools import config


def database_registry(command, odoo_args):
    """Parse Odoo's own options (``odoo_args``); the registry of the one database given
    with ``-d``, else exit with a message."""
    config.parse_config(odoo_args)
    odoo.cli.server.report_configuration()
    dbname = config["db_name"]
    if not dbname or "," in dbname:
        sys.exit(f"{command} needs exactly one database: -d DATABASE")
    return odoo.registry(dbname)


def run_until_stopped(alive=lambda: True):
    """Wait for SIGINT or SIGTERM (returns True), or until ``alive()`` is false (returns
    False)."""
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    while not stopping.is_set() and alive():
        time.sleep(0.5)
    return stopping.is_set()
