"""Bad requests get the documented 4xx error body."""
import pytest
import requests
import websocket


def call(sim, method, path, key=True, **kwargs):
    headers = kwargs.pop("headers", {})
    if key:
        headers["Authorization"] = "Bearer " + sim.api_key
    return requests.request(
        method, sim.api_url + path, headers=headers, timeout=5, **kwargs
    )


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if field:
        assert error["field"] == field and field in error["message"]


@pytest.mark.parametrize(
    "method,path,kwargs,status,code,field",
    [
        ("POST", "/queues", {"data": b"{not json"}, 400, "malformed_json", None),
        ("PUT", "/queues/sales", {"data": b"[1,"}, 400, "malformed_json", None),
        ("POST", "/queues", {"json": [1, 2]}, 422, "validation_error", None),
        ("POST", "/calls", {"json": {"from": "101"}}, 422, "validation_error", "to"),
        (
            "PUT",
            "/queues/sales",
            {"json": {"max_ring_time": 0}},
            422,
            "validation_error",
            "max_ring_time",
        ),
        (
            "PUT",
            "/queues/sales",
            {"json": {}, "headers": {"If-Match": "abc"}},
            422,
            "validation_error",
            "If-Match",
        ),
        (
            "PUT",
            "/queues/sales",
            {"json": {"name": "S"}, "headers": {"If-Match": '"7"'}},
            409,
            "version_conflict",
            None,
        ),
        ("GET", "/events?limit=0", {}, 422, "validation_error", "limit"),
        ("GET", "/events?after=abc", {}, 422, "validation_error", "after"),
        (
            "GET",
            "/queues/sales/events?from=yesterday",
            {},
            422,
            "validation_error",
            "from",
        ),
        (
            "GET",
            "/queues/sales/events?types=CONNECT,FOO",
            {},
            422,
            "validation_error",
            "types",
        ),
        ("GET", "/queues/nope", {}, 404, "queue_not_found", None),
        ("GET", "/nothing/here", {}, 404, "not_found", None),
        ("PATCH", "/queues/sales", {"json": {}}, 405, "method_not_allowed", None),
        ("POST", "/queues/sales/agents/101/disconnect", {}, 200, None, None),
        ("POST", "/queues/sales/agents/100/disconnect", {}, 409, "static_agent", None),
        ("POST", "/queues/sales/agents/999/connect", {}, 404, "not_a_member", None),
        (
            "POST",
            "/_sim/faults",
            {"json": {"error_rate": 2}},
            422,
            "validation_error",
            "error_rate",
        ),
    ],
)
def test_error_bodies(sim, method, path, kwargs, status, code, field):
    response = call(sim, method, path, **kwargs)
    if code is None:
        assert response.status_code == status
    else:
        assert_error(response, status, code, field)


def test_missing_and_wrong_key(sim):
    response = call(sim, "GET", "/queues", key=False)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert_error(
        call(
            sim, "GET", "/queues", key=False, headers={"Authorization": "Bearer nope"}
        ),
        401,
        "unauthorized",
    )
    assert_error(
        call(
            sim,
            "POST",
            "/_sim/reset",
            key=False,
            headers={"Authorization": "Bearer read-only-key"},
        ),
        403,
        "forbidden",
    )


def test_stream_requires_key(pbx):
    url = pbx.api_url.replace("http://", "ws://") + "/events/stream"
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(url, timeout=5)
    assert info.value.status_code == 401
