"""A private Asterisk instance for the gateway's scripts, tests and demo.

An instance lives in one folder and writes nothing outside it; the Asterisk build
(``prefix``, the ``make install`` DESTDIR that scripts/setup_asterisk.sh caches) is only
read. The folder holds::

    etc/            the configuration, written from the templates in conf/ at each start
    etc/axivox/     queues.conf, extensions.conf and pjsip.conf, which the gateway
                    generates (created when missing: no queues, empty axivox-queues
                    and axivox-agents contexts, no SIP endpoints)
    run/            the control socket (asterisk -rx) and the pid file
    log/            queue_log, messages.log, full.log, console.log, cdr-csv/
    spool/, lib/    Asterisk's spool and its astdb (persistent queue members)
    instance.json   while ``python -m axivox_gateway.instance start`` runs: the AMI
                    account, the HTTP port, the paths and the pid

From Python::

    with AsteriskInstance(prefix, folder) as pbx:
        pbx.cli("queue show")
        pbx.ami.host, pbx.ami.port, pbx.ami.user, pbx.ami.secret

From a shell::

    python -m axivox_gateway.instance start --dir DIR [--prefix P]  # until SIGTERM
    python -m axivox_gateway.instance cli --dir DIR "queue show"

Only the standard library (Python 3.8+).
"""

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

CONF_TEMPLATES = Path(__file__).resolve().parent / "conf"
AMI_USER = "axivox"
INFO_FILE = "instance.json"
# A Unix socket's path is at most 107 bytes long.
MAX_SOCKET_PATH = 107
_PLACEHOLDER = re.compile(r"@@([a-z_]+)@@")


class AsteriskError(RuntimeError):
    """The instance could not start, or a command could not reach it."""


class AmiAccount:
    """Where and as whom to log in to the instance's manager interface (AMI)."""

    def __init__(self, host, port, user, secret):
        self.host = host
        self.port = port
        self.user = user
        self.secret = secret

    def as_dict(self):
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "secret": self.secret,
        }

    def __repr__(self):
        return f"AmiAccount({self.host}:{self.port}, user={self.user})"


def free_port():
    """A TCP port free on 127.0.0.1 (at the time of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def default_prefix():
    """The Asterisk build of ASTERISK_PREFIX (scripts/setup_asterisk.sh exports it)."""
    return os.environ.get("ASTERISK_PREFIX") or None


class AsteriskInstance:
    """A private Asterisk in ``directory``, run from the build in ``prefix``.

    ``ami_port`` and ``http_port`` default to free ports. ``sip``: load PJSIP and serve
    SIP over WebSocket on the HTTP port (only when the build has chan_pjsip;
    ``self.sip`` says whether it does). Use it as a context manager, or call
    ``start()`` and ``stop()``.
    """

    def __init__(self, prefix, directory, ami_port=None, http_port=None, sip=True):
        self.prefix = Path(prefix).resolve()
        self.directory = Path(directory).resolve()
        self.binary = self.prefix / "usr" / "sbin" / "asterisk"
        self.module_dir = self.prefix / "usr" / "lib" / "asterisk" / "modules"
        self.data_dir = self.prefix / "var" / "lib" / "asterisk"
        if not self.binary.is_file() or not self.module_dir.is_dir():
            raise AsteriskError(
                f"{self.prefix} is not an Asterisk build (no usr/sbin/asterisk or "
                "usr/lib/asterisk/modules): run scripts/setup_asterisk.sh"
            )
        if not (self.data_dir / "documentation").is_dir():
            raise AsteriskError(
                f"{self.prefix} lacks var/lib/asterisk/documentation (Asterisk does "
                "not start without it)"
            )
        self.etc_dir = self.directory / "etc"
        self.config_dir = self.etc_dir / "axivox"
        self.run_dir = self.directory / "run"
        self.log_dir = self.directory / "log"
        self.spool_dir = self.directory / "spool"
        self.lib_dir = self.directory / "lib"
        self.asterisk_conf = self.etc_dir / "asterisk.conf"
        self.queue_log_path = self.log_dir / "queue_log"
        self.messages_log_path = self.log_dir / "messages.log"
        self.console_log_path = self.log_dir / "console.log"
        self.socket_path = self.run_dir / "asterisk.ctl"
        if len(os.fsencode(str(self.socket_path))) > MAX_SOCKET_PATH:
            raise AsteriskError(
                f"the folder {self.directory} is too deep: its control socket's path "
                f"would be longer than a Unix socket allows ({MAX_SOCKET_PATH} bytes)"
            )
        self.sip = bool(sip) and (self.module_dir / "chan_pjsip.so").is_file()
        self.http_port = http_port or free_port()
        self.ami = AmiAccount(
            "127.0.0.1", ami_port or free_port(), AMI_USER, secrets.token_urlsafe(24)
        )
        self.process = None
        self.start_seconds = None

    # -- environment -----------------------------------------------------------------

    def env(self):
        """The environment for a subprocess that runs this build's programs."""
        env = dict(os.environ)
        lib = str(self.prefix / "usr" / "lib")
        env["LD_LIBRARY_PATH"] = (
            lib + os.pathsep + env["LD_LIBRARY_PATH"]
            if env.get("LD_LIBRARY_PATH")
            else lib
        )
        sbin = str(self.binary.parent)
        env["PATH"] = sbin + os.pathsep + env.get("PATH", os.defpath)
        return env

    @property
    def pid(self):
        return self.process.pid if self.process else None

    @property
    def ws_url(self):
        """Where a SIP client connects over WebSocket (when ``self.sip``)."""
        return f"ws://127.0.0.1:{self.http_port}/ws"

    # -- configuration ---------------------------------------------------------------

    def _values(self):
        return {
            "prefix": str(self.prefix),
            "etc": str(self.etc_dir),
            "moddir": str(self.module_dir),
            "datadir": str(self.data_dir),
            "sbindir": str(self.binary.parent),
            "lib": str(self.lib_dir),
            "spool": str(self.spool_dir),
            "run": str(self.run_dir),
            "log": str(self.log_dir),
            "ami_port": str(self.ami.port),
            "ami_user": self.ami.user,
            "ami_secret": self.ami.secret,
            "http_port": str(self.http_port),
            "http_enabled": "yes" if self.sip else "no",
        }

    def _render(self, name, values):
        text = (CONF_TEMPLATES / name).read_text()

        def value(match):
            if match.group(1) not in values:
                raise KeyError(f"unknown placeholder {match[0]} in conf/{name}")
            return values[match.group(1)]

        return _PLACEHOLDER.sub(value, text)

    def _modules_conf(self, text):
        """modules.conf without the modules this build lacks or that are not wanted."""
        lines = []
        for line in text.splitlines():
            match = re.match(r"load => (\S+)", line)
            if match:
                sip_only = line.rstrip().endswith("; sip")
                if sip_only and not self.sip:
                    line = "; no SIP in this instance: " + line
                elif not (self.module_dir / match.group(1)).is_file():
                    line = "; not in this build: " + line
            lines.append(line)
        return "\n".join(lines) + "\n"

    def write_config(self):
        """Lay out the folder and write the configuration (the gateway's files only when
        missing)."""
        for folder in (
            self.config_dir,
            self.run_dir,
            self.log_dir,
            self.log_dir / "cdr-csv",
            self.spool_dir,
            self.lib_dir / "moh",
            self.lib_dir / "keys",
        ):
            folder.mkdir(parents=True, exist_ok=True)
        values = self._values()
        for template in sorted(CONF_TEMPLATES.glob("*.conf")):
            if template.name == "pjsip.conf" and not self.sip:
                text = "; no SIP in this instance\n"
            else:
                text = self._render(template.name, values)
            if template.name == "modules.conf":
                text = self._modules_conf(text)
            target = self.etc_dir / template.name
            target.write_text(text)
            if template.name == "manager.conf":
                target.chmod(0o600)
        for template in sorted((CONF_TEMPLATES / "axivox").glob("*.conf")):
            target = self.config_dir / template.name
            if not target.exists():
                target.write_text(template.read_text())
        # The music on hold: one second of silence (8 kHz, 16-bit signed linear).
        silence = self.lib_dir / "moh" / "silence.sln"
        if not silence.exists():
            silence.write_bytes(b"\0" * 16000)

    # -- running ---------------------------------------------------------------------

    def start(self, timeout=90):
        """Start Asterisk and wait until it is fully booted (or raise AsteriskError)."""
        if self.running():
            return self
        started = time.monotonic()
        if self.socket_path.exists():
            # A control socket left by an instance that died: a live one would answer
            # (and keeps its configuration: nothing is written).
            if self._rx("core show version", timeout=5)[0] == 0:
                raise AsteriskError(
                    f"an Asterisk already runs in {self.directory} (its control "
                    "socket answers)"
                )
            self.socket_path.unlink()
        self.write_config()
        with open(str(self.console_log_path), "ab") as console:
            self.process = subprocess.Popen(
                [str(self.binary), "-C", str(self.asterisk_conf), "-f", "-n"],
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                cwd=str(self.directory),
                env=self.env(),
                start_new_session=True,
            )
        deadline = started + timeout
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise AsteriskError(
                    f"Asterisk exited at start (status {code}):\n{self.log_tail()}"
                )
            if self.socket_path.exists():
                code, out = self._rx(
                    "core waitfullybooted", timeout=max(1, deadline - time.monotonic())
                )
                if code == 0 and "Asterisk has fully booted" in out:
                    break
            if time.monotonic() > deadline:
                self.stop()
                raise AsteriskError(
                    f"Asterisk did not boot within {timeout}s:\n{self.log_tail()}"
                )
            time.sleep(0.1)
        self.start_seconds = time.monotonic() - started
        return self

    def running(self):
        return self.process is not None and self.process.poll() is None

    def _rx(self, command, timeout=30):
        try:
            done = subprocess.run(
                [str(self.binary), "-C", str(self.asterisk_conf), "-rx", command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=self.env(),
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return 124, ""
        return done.returncode, done.stdout.decode("utf-8", "replace")

    def cli(self, command, timeout=30):
        """Run one CLI command (as ``asterisk -rx``) and return what it printed."""
        code, out = self._rx(command, timeout=timeout)
        if code != 0 or out.startswith("Unable to connect to remote asterisk"):
            raise AsteriskError(
                f"the CLI command {command!r} failed (status {code}): {out.strip()}"
            )
        return out

    def stop(self, timeout=15):
        """Stop Asterisk: ``core stop now``, then SIGTERM, then SIGKILL."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        self._rx("core stop now", timeout=timeout)
        for sig, wait in ((None, timeout), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if sig is not None:
                try:
                    process.send_signal(sig)
                except ProcessLookupError:
                    break
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        process.wait()

    def log_tail(self, lines=30):
        """The end of messages.log (or of the console output when there is none)."""
        for path in (self.messages_log_path, self.console_log_path):
            if path.exists() and path.stat().st_size:
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def info(self):
        """What another process needs to use the instance (instance.json)."""
        return {
            "pid": self.pid,
            "prefix": str(self.prefix),
            "directory": str(self.directory),
            "asterisk_conf": str(self.asterisk_conf),
            "config_dir": str(self.config_dir),
            "queue_log": str(self.queue_log_path),
            "messages_log": str(self.messages_log_path),
            "ami": self.ami.as_dict(),
            "http_port": self.http_port,
            "sip": self.sip,
            "ws_url": self.ws_url if self.sip else None,
        }

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- command line --------------------------------------------------------------------


def _read_info(directory):
    path = Path(directory) / INFO_FILE
    try:
        info = json.loads(path.read_text())
        os.kill(info["pid"], 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info


def _cmd_start(args):
    prefix = args.prefix or default_prefix()
    if not prefix:
        sys.exit(
            "No Asterisk build: give --prefix or set ASTERISK_PREFIX "
            "(bash scripts/setup_asterisk.sh builds one and prints it)."
        )
    directory = Path(args.dir)
    running = _read_info(directory)
    if running:
        sys.exit(f"An instance already runs in {directory} (pid {running['pid']}).")
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pbx = AsteriskInstance(
        prefix,
        directory,
        ami_port=args.ami_port,
        http_port=args.http_port,
        sip=not args.no_sip,
    )
    info_path = pbx.directory / INFO_FILE
    try:
        pbx.start(timeout=args.timeout)
        tmp = info_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(pbx.info(), indent=2) + "\n")
        tmp.chmod(0o600)
        tmp.replace(info_path)
        sys.stdout.write(
            f"Asterisk runs in {pbx.directory} (pid {pbx.pid}, started in "
            f"{pbx.start_seconds:.1f} s): AMI on {pbx.ami.host}:{pbx.ami.port}, "
            + (f"SIP over WebSocket on {pbx.ws_url}" if pbx.sip else "no SIP")
            + "\n"
        )
        sys.stdout.flush()
        while not stopping and pbx.running():
            time.sleep(0.2)
        if not stopping:
            sys.stderr.write(f"Asterisk stopped by itself:\n{pbx.log_tail()}\n")
            return 1
        return 0
    except AsteriskError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    finally:
        pbx.stop()
        if info_path.exists():
            info_path.unlink()


def _cmd_cli(args):
    info = _read_info(args.dir)
    if not info:
        sys.exit(
            f"No Asterisk instance runs in {args.dir} (no {INFO_FILE} with a live "
            "pid): start one with python -m axivox_gateway.instance start --dir "
            + str(args.dir)
        )
    prefix = Path(info["prefix"])
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = str(prefix / "usr" / "lib")
    done = subprocess.run(
        [str(prefix / "usr" / "sbin" / "asterisk"), "-C", info["asterisk_conf"], "-rx"]
        + [" ".join(args.command)],
        env=env,
        check=False,
    )
    return done.returncode


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m axivox_gateway.instance",
        description="A private Asterisk instance in a folder.",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    start = sub.add_parser(
        "start", help="start it, write DIR/instance.json, run until SIGTERM or SIGINT"
    )
    start.add_argument("--dir", required=True, help="the instance's folder")
    start.add_argument(
        "--prefix", help="the Asterisk build (default: $ASTERISK_PREFIX)"
    )
    start.add_argument("--ami-port", type=int, help="default: a free port")
    start.add_argument("--http-port", type=int, help="default: a free port")
    start.add_argument("--no-sip", action="store_true", help="leave PJSIP out")
    start.add_argument(
        "--timeout", type=float, default=90, help="seconds to wait for the boot (90)"
    )
    cli = sub.add_parser("cli", help="run one CLI command against a running instance")
    cli.add_argument("--dir", required=True, help="the instance's folder")
    cli.add_argument("command", nargs="+", help='e.g. "queue show"')
    args = parser.parse_args(argv)
    return _cmd_start(args) if args.action == "start" else _cmd_cli(args)


if __name__ == "__main__":
    sys.exit(main())
