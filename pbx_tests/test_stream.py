"""WebSocket event stream: backlog, live events, resume after drops."""
import threading
import time

from axivox_api.stream import EventStreamConsumer


class Collector:
    def __init__(self, fail_once_at=None):
        self.events = []
        self.cursors = []
        self.fail_once_at = fail_once_at
        self.lock = threading.Lock()

    def __call__(self, events, cursor):
        with self.lock:
            if self.fail_once_at is not None and events[0]["seq"] == self.fail_once_at:
                self.fail_once_at = None
                raise RuntimeError("simulated processing failure")
            self.events.extend(events)
            self.cursors.append(cursor)

    def wait_for(self, count, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.events) >= count:
                    return True
            time.sleep(0.02)
        return False


def start(sim, collector, **kwargs):
    kwargs.setdefault("min_backoff", 0.02)
    kwargs.setdefault("max_backoff", 0.2)
    kwargs.setdefault("heartbeat", 1.0)
    consumer = EventStreamConsumer(sim.url, sim.api_key, collector, **kwargs)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    return consumer, thread


def stop(consumer, thread):
    started = time.monotonic()
    consumer.stop()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 2


def test_backlog_then_live_events(sim, client):
    summary = sim.traffic(seed=8, calls=10)
    collector = Collector()
    consumer, thread = start(sim, collector)
    try:
        assert collector.wait_for(summary["events"])
        client.connect_agent("billing", "100")
        assert collector.wait_for(summary["events"] + 1)
        assert collector.events[-1]["type"] == "ADDMEMBER"
        assert consumer.cursor == str(collector.events[-1]["seq"])
        assert consumer.connected and consumer.connections == 1
    finally:
        stop(consumer, thread)


def test_resume_after_server_drops_without_loss_or_repeat(sim, client):
    summary = sim.traffic(seed=12, calls=25)
    total = summary["events"]
    sim.faults(ws_close_after=7)
    collector = Collector()
    consumer, thread = start(sim, collector)
    try:
        assert collector.wait_for(total)
        client.connect_agent("sales", "101")
        assert collector.wait_for(total + 1)
        time.sleep(0.1)
    finally:
        stop(consumer, thread)
    seqs = [e["seq"] for e in collector.events]
    expected, _, _ = client.events_since(limit=5000)
    assert seqs == [e["seq"] for e in expected]  # all, in order, exactly once
    assert consumer.connections >= total // 7
    assert consumer.cursor == str(seqs[-1])


def test_start_from_cursor(sim, client):
    sim.traffic(seed=13, calls=5)
    events, _, _ = client.events_since()
    middle = events[len(events) // 2]["seq"]
    collector = Collector()
    consumer, thread = start(sim, collector, cursor=str(middle))
    try:
        assert collector.wait_for(len(events) - len(events) // 2 - 1)
        time.sleep(0.1)
    finally:
        stop(consumer, thread)
    assert [e["seq"] for e in collector.events] == [
        e["seq"] for e in events if e["seq"] > middle
    ]


def test_failed_callback_is_redelivered(sim, client):
    sim.traffic(seed=14, calls=5)
    events, _, _ = client.events_since()
    collector = Collector(fail_once_at=events[3]["seq"])
    consumer, thread = start(sim, collector)
    try:
        assert collector.wait_for(len(events))
        time.sleep(0.1)
    finally:
        stop(consumer, thread)
    assert [e["seq"] for e in collector.events] == [e["seq"] for e in events]
    assert consumer.connections == 2


def test_heartbeats_keep_an_idle_connection(sim):
    collector = Collector()
    consumer, thread = start(sim, collector, heartbeat=0.2)
    try:
        time.sleep(1.0)
        assert consumer.connected and consumer.connections == 1
        assert time.monotonic() - consumer.last_message_at < 0.5
    finally:
        stop(consumer, thread)


def test_dead_server_is_detected(sim):
    """A server that accepts the TCP connection and then says nothing."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    collector = Collector()
    consumer = EventStreamConsumer(
        "http://127.0.0.1:%d" % listener.getsockname()[1],
        "k",
        collector,
        min_backoff=0.05,
        max_backoff=0.1,
        heartbeat=0.2,
        timeout=0.3,
    )
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while len(accepted) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(accepted) >= 2, "the consumer reconnects after a handshake timeout"
        assert consumer.last_error
    finally:
        stop(consumer, thread)
        listener.close()
        for s in accepted:
            s.close()
