"""docs/openapi.yaml documents exactly the simulator's endpoints."""
import os
import re

import pytest
from conftest import ROOT

yaml = pytest.importorskip("yaml")


def test_openapi_matches_simulator_routes():
    from axivox_simulator import server

    path = os.path.join(ROOT, "docs", "openapi.yaml")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    spec = yaml.safe_load(text)
    assert spec["openapi"].startswith("3.0")
    for kind, name in set(re.findall(r"#/components/(\w+)/(\w+)", text)):
        assert name in spec["components"][kind], (kind, name)
    documented = {
        (method.upper(), p)
        for p, ops in spec["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "delete", "patch")
    }
    served = {(r.method, r.path[len(server.PREFIX) :]) for r in server.routes}
    assert documented == served
