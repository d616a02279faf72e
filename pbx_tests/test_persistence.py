"""--state FILE: the PBX state survives a restart."""
from axivox_simulator.testing import SimulatorProcess


def test_state_is_saved_and_reloaded(tmp_path):
    path = str(tmp_path / "pbx-state.json")
    with SimulatorProcess(state=path, announce_seconds=0) as sim:
        client = sim.client()
        client.create_queue({"id": "night", "name": "Night", "extension": "690"})
        client.connect_agent("sales", "101")
        last_seq = client.events_since()[0][-1]["seq"]
    with SimulatorProcess(state=path, announce_seconds=0) as sim:
        client = sim.client()
        assert client.get_queue("night")["name"] == "Night"
        assert any(
            a["extension"] == "101" and a["connected"]
            for a in client.list_agents("sales")
        )
        events, cursor, _ = client.events_since()
        assert events[-1]["seq"] == last_seq
        client.disconnect_agent("sales", "101")
        assert client.events_since(cursor)[0][0]["seq"] == last_seq + 1
