"""Every fault switch against the client's retry and error handling."""
import logging
import socket
import time

import pytest

from axivox_api import AxivoxConflict, AxivoxRateLimited, AxivoxUnavailable
from axivox_api.client import AxivoxClient


def api_requests(sim):
    return [(r["method"], r["path"], r["status"]) for r in sim.requests_log()]


def test_5xx_is_retried_then_unavailable(sim):
    client = sim.client(max_retries=3)
    sim.faults(error_rate=1.0)
    sim.clear_requests()
    with pytest.raises(AxivoxUnavailable) as info:
        client.list_queues()
    assert info.value.status == 503
    assert api_requests(sim) == [("GET", "/api/v1/queues", 503)] * 4


def test_intermittent_5xx_recovered_by_retries(sim):
    client = sim.client(max_retries=5)
    sim.faults(error_rate=0.5, seed=7)
    results = [client.get_queue("sales")["id"] for _ in range(10)]
    assert results == ["sales"] * 10
    statuses = [r["status"] for r in sim.requests_log()]
    assert 503 in statuses and statuses.count(200) == 10


def test_post_without_idempotency_key_is_not_retried(sim):
    client = sim.client(max_retries=3)
    sim.faults(error_rate=1.0)
    sim.clear_requests()
    with pytest.raises(AxivoxUnavailable):
        client.apply_changes()
    assert api_requests(sim) == [("POST", "/api/v1/apply", 503)]


def test_post_with_idempotency_key_is_retried_once_applied(sim):
    client = sim.client(max_retries=6)
    sim.faults(error_rate=0.6, seed=3)
    sim.clear_requests()
    call = client.originate("101", "*600")
    assert call["outcome"] == "logged_in"
    log = api_requests(sim)
    assert log[-1] == ("POST", "/api/v1/calls", 201) and len(log) > 1
    sim.faults()
    assert [a["extension"] for a in client.list_agents("sales") if a["connected"]] == [
        "100",
        "101",
        "102",
    ]


def test_429_honours_retry_after(sim):
    client = sim.client(max_retries=3)
    sim.faults(rate_limit=1, retry_after=1)
    start = time.monotonic()
    assert client.list_users()
    elapsed = time.monotonic() - start
    assert 1.0 <= elapsed < 2.5
    assert [r["status"] for r in sim.requests_log()][-2:] == [429, 200]


def test_429_exhausted_raises_rate_limited(sim):
    client = sim.client(max_retries=2)
    sim.faults(rate_limit=10, retry_after=0)
    with pytest.raises(AxivoxRateLimited) as info:
        client.list_users()
    assert info.value.status == 429 and info.value.retry_after == 0
    assert sim.control("GET", "faults")["rate_limit"] == 7


def test_429_with_long_retry_after_is_not_slept(sim):
    client = sim.client(max_retries=3, max_retry_after=2)
    sim.faults(rate_limit=5, retry_after=120)
    start = time.monotonic()
    with pytest.raises(AxivoxRateLimited) as info:
        client.list_users()
    assert time.monotonic() - start < 1 and info.value.retry_after == 120


def test_latency_beyond_timeout(sim):
    sim.faults(latency_ms=600)
    slow = sim.client(timeout=0.2, max_retries=1)
    sim.clear_requests()
    start = time.monotonic()
    with pytest.raises(AxivoxUnavailable) as info:
        slow.list_queues()
    assert info.value.code == "timeout" and time.monotonic() - start < 1.5
    patient = sim.client(timeout=3, max_retries=0)
    start = time.monotonic()
    assert patient.list_queues()
    assert time.monotonic() - start >= 0.6


def test_connection_refused(sim):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    client = AxivoxClient(
        "http://127.0.0.1:%d" % port, "secret-key-xyz", max_retries=2, backoff=0.01
    )
    with pytest.raises(AxivoxUnavailable) as info:
        client.ping()
    assert info.value.code == "connection_error" and info.value.status is None


def test_conflict_is_not_retried(sim):
    client = sim.client()
    sim.clear_requests()
    with pytest.raises(AxivoxConflict):
        client.update_queue("sales", {"max_wait_time": 60}, version=99)
    assert len(sim.requests_log()) == 1


def test_api_key_never_logged_nor_in_messages(sim, caplog):
    key = sim.api_key
    client = sim.client(max_retries=1)
    sim.faults(error_rate=1.0)
    with caplog.at_level(logging.DEBUG, logger="axivox_api"):
        with pytest.raises(AxivoxUnavailable) as info:
            client.get_queue("sales")
    assert caplog.records, "the client logs method, path, status and duration at debug"
    assert any("/queues/sales -> 503" in r.getMessage() for r in caplog.records)
    assert (
        key not in caplog.text
        and key not in str(info.value)
        and key not in repr(client)
    )


def test_error_paths_fail_only_the_matching_requests(sim):
    client = sim.client(max_retries=1)
    sim.faults(error_paths=["/queues/sales/"])
    with pytest.raises(AxivoxUnavailable):
        client.disconnect_agent("sales", "102")
    agent = client.disconnect_agent("support", "105")
    assert agent["connected"] is False
    assert len(client.list_queues()) == 3, "other paths answer"
    sim.faults()
    assert client.disconnect_agent("sales", "102")["connected"] is False


def test_error_paths_must_be_a_list_of_strings(sim):
    from axivox_simulator.testing import SimulatorError

    for bad in ("/queues/", [""], [3]):
        with pytest.raises(SimulatorError, match="422"):
            sim.faults(error_paths=bad)
