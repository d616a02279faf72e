"""Run a private Asterisk and the gateway in front of it from any test (stdlib and
requests only; the build comes from scripts/setup_asterisk.sh, named by
``ASTERISK_PREFIX``).

::

    from axivox_gateway.testing import AsteriskGateway   # or odoo.addons....

    with AsteriskGateway(folder) as pbx:
        client = pbx.client()
        pbx.cli("queue show sales")
        pbx.place_callers("600", calls=3, patience=(20, 20), talk=(2, 2))

It offers what the tests of the API need of any PBX (``client()``, ``url``,
``api_url``, ``api_key``, ``reset()``) and what only a real one has (``cli``,
``place_callers``, ``queue_log_lines``).
"""

import asyncio
import json
import os
import shutil
import tempfile
import time

try:
    from ..axivox_simulator import DEMO_DATA
    from ..axivox_simulator.testing import SimulatorProcess
    from . import queue_log
    from .ami import AMIClient
    from .instance import AsteriskInstance
    from .traffic import place_calls
except (ImportError, ValueError):  # imported as the top-level ``axivox_gateway``
    from axivox_gateway import queue_log
    from axivox_gateway.ami import AMIClient
    from axivox_gateway.instance import AsteriskInstance
    from axivox_gateway.traffic import place_calls
    from axivox_simulator import DEMO_DATA
    from axivox_simulator.testing import SimulatorProcess

DEMO_DEVICE = "Local/{ext}@axivox-phones"


def _is_event(line):
    return queue_log.line_event(line) is not None


def asterisk_prefix():
    """The Asterisk build to use (``ASTERISK_PREFIX``), or None."""
    prefix = os.environ.get("ASTERISK_PREFIX")
    return prefix if prefix and os.path.isdir(prefix) else None


class GatewayProcess(SimulatorProcess):
    """A gateway subprocess (options as for the simulator, plus ``asterisk``: the
    instance folder, and ``device_template``)."""

    module = "axivox_gateway"
    ready_prefix = "axivox-gateway listening on "


class AsteriskGateway:
    """A private Asterisk in ``folder`` (a temporary one by default) and the gateway
    in front of it, with the demo's users and queues. ``talk`` is how long the demo
    devices talk ("3-8": a random time), ``no_answer`` the percentage of offered calls
    they let ring."""

    def __init__(
        self,
        folder=None,
        prefix=None,
        talk="2",
        no_answer=0,
        data=DEMO_DATA,
        **options,
    ):
        self.prefix = prefix or asterisk_prefix()
        self._own_folder = folder is None
        self.folder = folder or tempfile.mkdtemp(prefix="axivox-asterisk-")
        self.talk, self.no_answer = talk, no_answer
        self.data = data
        options.setdefault("announce_seconds", 0)
        options.setdefault("device_template", DEMO_DEVICE)
        self.options = options
        self.asterisk = None
        self.gateway = None

    # ------------------------------------------------------------ process
    def start(self):
        if not self.prefix:
            raise RuntimeError("No Asterisk build: set ASTERISK_PREFIX")
        self.asterisk = AsteriskInstance(
            self.prefix, os.path.join(self.folder, "asterisk")
        )
        self.asterisk.start()
        with open(
            os.path.join(self.asterisk.directory, "instance.json"),
            "w",
            encoding="utf-8",
        ) as fh:
            json.dump(self.asterisk.info(), fh)
        self.set_globals(AXIVOX_TALK=self.talk, AXIVOX_NOANSWER=self.no_answer)
        self.gateway = GatewayProcess(
            asterisk=self.asterisk.directory,
            data=self.data,
            state=os.path.join(self.folder, "gateway-state.json"),
            **self.options,
        )
        try:
            self.gateway.start()
            self.wait_ready()
        except Exception:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout=30):
        """Until ``/ping`` says the gateway reaches Asterisk."""
        deadline = time.monotonic() + timeout
        client = self.client()
        try:
            while True:
                try:
                    client.ping()
                    return
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        finally:
            client.close()

    def stop(self):
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self.asterisk is not None:
            self.asterisk.stop()
            self.asterisk = None
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------ the API
    @property
    def url(self):
        return self.gateway.url

    @property
    def api_url(self):
        return self.gateway.api_url

    @property
    def api_key(self):
        return self.gateway.api_key

    def client(self, **kwargs):
        return self.gateway.client(**kwargs)

    def log_tail(self, chars=4000):
        return self.gateway.log_tail(chars)

    def reset(self):
        """Back to the demo's queues and connected agents, through the API only."""
        with open(self.data, encoding="utf-8") as fh:
            data = json.load(fh)
        client = self.client()
        try:
            for agent in client.list_agents():
                if agent["type"] == "dynamic" and agent["connected"]:
                    client.disconnect_agent(agent["queue_id"], agent["extension"])
            for queue in client.list_queues():
                client.delete_queue(queue["id"])
            for queue in data["queues"]:
                client.create_queue(dict(queue))
            client.apply_changes()
            for conn in data.get("connected_agents", []):
                client.connect_agent(conn["queue_id"], str(conn["extension"]))
            self.settle(client)
        finally:
            client.close()

    def settle(self, client, timeout=10):
        """Until the gateway has turned every queue_log line of the report into an
        event (this instance's queue_log began with the gateway)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = sum(1 for line in self.queue_log_lines() if _is_event(line))
            count, cursor = 0, None
            while True:
                page, cursor, more = client.events_since(cursor)
                count += len(page)
                if not more:
                    break
            if count >= lines or time.monotonic() > deadline:
                return count
            time.sleep(0.02)

    # ------------------------------------------------------------ Asterisk
    def cli(self, command):
        return self.asterisk.cli(command)

    def set_globals(self, **values):
        for name, value in values.items():
            self.cli(f"dialplan set global {name} {value}")

    def queue_log_lines(self):
        try:
            with open(self.asterisk.queue_log_path, encoding="utf-8") as fh:
                return fh.read().splitlines()
        except FileNotFoundError:
            return []

    def place_callers(
        self, extension, calls=1, rate=50.0, patience=(30, 30), talk=(2, 2)
    ):
        """Callers dialing ``extension`` (a queue's), through AMI."""
        return asyncio.run(self._place(extension, calls, rate, patience, talk))

    async def _place(self, extension, calls, rate, patience, talk):
        account = self.asterisk.ami
        ami = AMIClient(
            account.host, account.port, account.user, account.secret, events="off"
        )
        task = asyncio.ensure_future(ami.run())
        try:
            if not await ami.wait_connected(10):
                raise RuntimeError("AMI unreachable: %s" % ami.last_error)
            extensions = extension if isinstance(extension, list) else [extension]
            return await place_calls(
                ami, extensions, calls, rate, patience, talk, seed=len(extensions)
            )
        finally:
            task.cancel()
