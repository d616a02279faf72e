"""Run the simulator as a subprocess from any test (stdlib + requests only).

::

    from axivox_simulator.testing import SimulatorProcess   # or odoo.addons....

    with SimulatorProcess(announce_seconds=0) as sim:
        client = sim.client()
        client.list_queues()
        sim.traffic(seed=1, calls=10)
        sim.faults(error_rate=1.0)

The process listens on 127.0.0.1 on a free port and is started with
``sys.executable``; the addon root is put on its ``PYTHONPATH``.
"""
import os
import secrets
import subprocess
import sys
import tempfile
import threading

import requests

try:
    from ..axivox_api.client import AxivoxClient
except (ImportError, ValueError):  # imported as the top-level ``axivox_simulator``
    from axivox_api.client import AxivoxClient

ADDON_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
READY_PREFIX = "axivox-simulator listening on "


class SimulatorError(RuntimeError):
    pass


class SimulatorProcess:
    """A simulator subprocess (``module``: another server of the API started the
    same way, such as the Asterisk gateway).

    Keyword options map to the command line (``api_key``, ``webhook_url``,
    ``webhook_secret``, ``data``, ``state``, ``seed``, ``announce_seconds``,
    ``webhook_attempts``, ``webhook_backoff``, ``webhook_timeout``,
    ``read_only_key``, ``verbose``); ``python`` overrides the interpreter,
    ``startup_timeout`` the wait for readiness (seconds).
    """

    module = "axivox_simulator"
    ready_prefix = READY_PREFIX

    def __init__(
        self,
        api_key=None,
        python=None,
        startup_timeout=20.0,
        host="127.0.0.1",
        **options,
    ):
        self.api_key = api_key or secrets.token_urlsafe(24)
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout
        self.host = host
        self.options = options
        self.url = None
        self.proc = None
        self._log = None
        self._session = requests.Session()

    # ------------------------------------------------------------ process
    def command(self):
        # --flag=value: a value starting with "-" (a random key may) is not taken for a
        # flag.
        cmd = [
            self.python,
            "-m",
            self.module,
            "--host=" + self.host,
            "--port=0",
            "--api-key=" + self.api_key,
        ]
        for key, value in sorted(self.options.items()):
            if value is None or value is False:
                continue
            flag = "--" + key.replace("_", "-")
            cmd.append(flag if value is True else f"{flag}={value}")
        return cmd

    def start(self):
        if self.proc is not None:
            return self
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [ADDON_ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
        env["PYTHONUNBUFFERED"] = "1"
        self._log = tempfile.NamedTemporaryFile(
            prefix="axivox-sim-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=ADDON_ROOT,
            universal_newlines=True,
        )
        ready = threading.Event()
        found = []

        def read_stdout():
            for line in self.proc.stdout:
                if not found and line.startswith(self.ready_prefix):
                    found.append(line[len(self.ready_prefix) :].strip())
                    ready.set()
            ready.set()  # EOF: the process ended

        threading.Thread(
            target=read_stdout, name="axivox-sim-stdout", daemon=True
        ).start()
        if not ready.wait(self.startup_timeout) or not found:
            self.stop()
            raise SimulatorError(
                "The PBX simulator did not start: %s" % self.log_tail()
            )
        self.url = found[0]
        return self

    def stop(self, timeout=10.0):
        """Stop gracefully (SIGTERM, the state file is saved), then kill."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc.stdout:
            proc.stdout.close()
        self._session.close()
        self._session = requests.Session()

    def log_tail(self, chars=4000):
        if not self._log:
            return ""
        self._log.flush()
        try:
            with open(self._log.name, encoding="utf-8", errors="replace") as fh:
                return fh.read()[-chars:]
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def api_url(self):
        return self.url + "/api/v1"

    def client(self, **kwargs):
        """An :class:`AxivoxClient` on this simulator (fast retries by default)."""
        kwargs.setdefault("timeout", 5)
        kwargs.setdefault("backoff", 0.02)
        return AxivoxClient(self.url, self.api_key, **kwargs)

    # ------------------------------------------------------- control API
    def control(self, method, path, json=None, params=None, timeout=60):
        """Call ``/api/v1/_sim/<path>`` and return the decoded JSON (or None)."""
        response = self._session.request(
            method,
            "{}/_sim/{}".format(self.api_url, path.lstrip("/")),
            json=json,
            params=params,
            headers={"Authorization": "Bearer " + self.api_key},
            timeout=timeout,
        )
        if response.status_code >= 400:
            raise SimulatorError(
                "%s %s -> %d %s"
                % (method, path, response.status_code, response.text[:500])
            )
        return response.json() if response.content else None

    def reset(self, data=None):
        return self.control("POST", "reset", {"data": data} if data is not None else {})

    def state(self):
        return self.control("GET", "state")

    def traffic(self, seed=0, calls=20, queue_ids=None, start=None):
        return self.control(
            "POST",
            "traffic",
            {"seed": seed, "calls": calls, "queue_ids": queue_ids, "start": start},
        )

    def faults(self, **faults):
        """Replace the active faults (no argument: clear them)."""
        return self.control("POST", "faults", faults)

    def set_call_state(self, call_id, state):
        """The other end of call ``call_id`` answers (``answered``) or hangs up
        (``ended``)."""
        return self.control("POST", "calls/%s" % call_id, {"state": state})["call"]

    def set_webhook(self, url, secret=None, **settings):
        body = dict(settings, url=url)
        if secret is not None:
            body["secret"] = secret
        return self.control("POST", "webhook", body)

    def flush(self, timeout=30):
        return self.control("POST", "flush", {"timeout": timeout}, timeout=timeout + 5)

    def deliveries(self):
        return self.control("GET", "deliveries")["deliveries"]

    def requests_log(self):
        return self.control("GET", "requests")["requests"]

    def clear_requests(self):
        return self.control("DELETE", "requests")
