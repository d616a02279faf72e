"""What the addon's odoo-bin commands share: their options, one database, and running
until stopped."""
import argparse
import signal
import sys
import threading
import time

import odoo
from odoo.tools import config


def command_parser(command):
    """The parser of the options of ``command`` (an odoo-bin ``Command``) before
    Odoo's own: its name after odoo-bin's, its docstring as description."""
    return argparse.ArgumentParser(
        prog=f"{sys.argv[0].split('/')[-1]} {command.name}",
        description=command.__doc__,
    )


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
