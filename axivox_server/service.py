"""A running server of the PBX API, whatever PBX is behind it: its PBX model
(``pbx.PBXModel`` or a subclass), the signed webhook deliveries (a queue, retries with
backoff; drops, duplicates and reordering when faults ask for them), the request log,
the idempotency cache, the wake-up of the event streams and the state file it saves
to. The simulator and the Asterisk gateway are both one."""

import asyncio
import collections
import json
import logging
import os
import random
import time
import uuid

import aiohttp

from ._compat import signature
from .errors import iso, utcnow
from .httpkit import dumps

_logger = logging.getLogger("axivox_simulator")

DEFAULT_FAULTS = {
    "latency_ms": 0,
    "error_rate": 0.0,
    "rate_limit": 0,
    "retry_after": 1,
    "webhook_drop_rate": 0.0,
    "webhook_duplicate_rate": 0.0,
    "webhook_reorder": False,
    "ws_close_after": 0,
    "error_paths": [],
    "feed_stuck": False,
}


class PBXService:
    """Everything a server of the API holds besides the PBX model itself.

    ``state`` is the PBX model; ``version`` and ``user_agent`` name the server (in
    ``/ping`` and the webhooks' User-Agent). ``tasks()`` are the coroutines that run
    beside the HTTP server."""

    version = "1.0.0"
    user_agent = "axivox-pbx"
    # How often a changed state is written to the state file (seconds).
    save_every = 0.2

    def __init__(self, config, state):
        self.config = config
        self.state = state
        state_file = config.get("state")
        if state_file and os.path.exists(state_file):
            with open(state_file, encoding="utf-8") as fh:
                self.state.restore(json.load(fh))
            _logger.info("state restored from %s", state_file)
        self.state.listeners.append(self._on_event)
        self.changed = asyncio.Event()
        self.webhook_wakeup = asyncio.Event()
        self.idempotency = collections.OrderedDict()
        self._reset_runtime()

    @staticmethod
    def read_data(path):
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)

    def tasks(self):
        """The coroutines to run while the server runs."""
        return [self.webhook_worker(), self.saver()]

    async def ping(self):
        """The body of ``GET /ping`` (a ``PBXError`` when the PBX is not usable)."""
        return {"ok": True, "version": self.version, "time": iso(utcnow())}

    async def close(self):
        """Called once when the server stops, after the tasks are cancelled."""
        self.save()

    def _reset_runtime(self):
        cfg = self.config
        self.faults = dict(DEFAULT_FAULTS)
        self.rng = random.Random(cfg.get("seed", 0))
        self.webhook = {
            "url": cfg.get("webhook_url") or None,
            "secret": cfg.get("webhook_secret") or "",
            "max_attempts": cfg.get("webhook_attempts", 6),
            "backoff": cfg.get("webhook_backoff", 0.5),
            "timeout": cfg.get("webhook_timeout", 5.0),
            "batch_size": 500,
        }
        self.pending = collections.deque()
        self.inflight = 0
        self.deliveries = collections.deque(maxlen=5000)
        self.requests = collections.deque(maxlen=5000)
        self.idempotency.clear()
        self.generation = getattr(self, "generation", 0) + 1

    # -------------------------------------------------------------- events
    def _on_event(self, event):
        if self.webhook["url"]:
            self.pending.append(event)
            self.webhook_wakeup.set()
        self._notify()

    def _notify(self):
        old, self.changed = self.changed, asyncio.Event()
        old.set()

    # ------------------------------------------------------------ webhooks
    def log_delivery(self, **entry):
        entry.setdefault("at", iso(utcnow()))
        self.deliveries.append(entry)

    async def webhook_worker(self):
        timeout = aiohttp.ClientTimeout(total=None)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                await self.webhook_wakeup.wait()
                await asyncio.sleep(0.05)  # batching window
                self.webhook_wakeup.clear()
                while self.pending:
                    size = max(1, int(self.webhook["batch_size"]))
                    batches = []
                    while self.pending:
                        batches.append(
                            [
                                self.pending.popleft()
                                for _ in range(min(size, len(self.pending)))
                            ]
                        )
                    if self.faults["webhook_reorder"]:
                        batches = [list(reversed(b)) for b in reversed(batches)]
                    self.inflight += 1
                    try:
                        for batch in batches:
                            await self._deliver(session, batch)
                    except Exception:  # never let the worker die
                        _logger.exception("webhook delivery crashed")
                    finally:
                        self.inflight -= 1

    async def _deliver(self, session, batch):
        generation = self.generation
        hook = dict(self.webhook)
        delivery_id = str(uuid.uuid4())
        seqs = [e["seq"] for e in batch]
        base = {
            "delivery_id": delivery_id,
            "event_count": len(batch),
            "seqs": seqs,
            "url": hook["url"],
        }
        if not hook["url"]:
            return
        if self.rng.random() < self.faults["webhook_drop_rate"]:
            self.log_delivery(
                attempt=0, status=None, error=None, outcome="dropped", **base
            )
            return
        duplicate = self.rng.random() < self.faults["webhook_duplicate_rate"]
        body = dumps({"events": batch}).encode("utf-8")
        ok = await self._send(session, hook, body, base, generation)
        if ok and duplicate and generation == self.generation:
            await self._send(
                session, hook, body, dict(base, duplicate=True), generation, attempts=1
            )

    async def _send(self, session, hook, body, base, generation, attempts=None):
        attempts = attempts or max(1, int(hook["max_attempts"]))
        for attempt in range(1, attempts + 1):
            if generation != self.generation:  # reset meanwhile: abandon
                return False
            headers = signature.signed_headers(
                hook["secret"], body, delivery_id=base["delivery_id"]
            )
            headers["User-Agent"] = f"{self.user_agent}/{self.version}"
            start = time.monotonic()
            status, error = None, None
            try:
                async with session.post(
                    hook["url"],
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=hook["timeout"]),
                ) as resp:
                    status = resp.status
                    await resp.read()
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            duration = int((time.monotonic() - start) * 1000)
            if status is not None and 200 <= status < 300:
                self.log_delivery(
                    attempt=attempt,
                    status=status,
                    error=None,
                    outcome="delivered",
                    duration_ms=duration,
                    **base,
                )
                return True
            retryable = status is None or status >= 500 or status in (408, 429)
            last = attempt == attempts or not retryable
            self.log_delivery(
                attempt=attempt,
                status=status,
                error=error,
                outcome="failed" if last else "retrying",
                duration_ms=duration,
                **base,
            )
            if last:
                return False
            await asyncio.sleep(hook["backoff"] * (2 ** (attempt - 1)))
        return False

    async def flush(self, timeout):
        deadline = time.monotonic() + timeout
        while self.pending or self.inflight or self.webhook_wakeup.is_set():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    # --------------------------------------------------------- persistence
    def save(self):
        path = self.config.get("state")
        if not path or not self.state.dirty:
            return
        self.state.dirty = False
        tmp = path + ".tmp"
        # json.dumps encodes in C at once; json.dump to a file would in Python, piece
        # by piece (ten times slower: most of a busy gateway's CPU time).
        text = json.dumps(self.state.snapshot())
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)

    async def saver(self):
        while True:
            await asyncio.sleep(self.save_every)
            try:
                self.save()
            except OSError:
                _logger.exception("could not save the state")
