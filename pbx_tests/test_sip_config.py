"""The users' SIP phones the gateway generates (``dialplan.pjsip_conf``) and where
their passwords come from (``gateway.sip_passwords``): no Asterisk needed, but the
last test, which looks at the demo's gateway (``Local/`` devices)."""

import json
import os
import stat

import pytest

from axivox_gateway import dialplan, gateway

USERS = {
    "101": {"extension": "101", "name": "Marc Demo"},
    "102": {"extension": "102", "name": 'Joel "JW" Willis; sales\n[x]'},
    "103": {"extension": "103", "name": "Luca"},
}


def _sections(text):
    """{(name, type): {key: value}} of a pjsip.conf."""
    sections, current = {}, None
    for line in text.splitlines():
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            current = {"_name": line.strip("[]")}
            continue
        key, _, value = line.partition(" = ")
        current[key] = value
        if key == "type":
            sections[(current["_name"], value)] = current
    return sections


def test_pjsip_conf_per_user_with_a_password():
    text = dialplan.pjsip_conf(USERS, {"101": "s3cret-101", "102": "s3cret-102"})
    sections = _sections(text)
    assert set(sections) == {
        ("101", "endpoint"),
        ("101-auth", "auth"),
        ("101", "aor"),
        ("102", "endpoint"),
        ("102-auth", "auth"),
        ("102", "aor"),
    }  # 103 has no password: her phone is the installation's
    endpoint = sections[("101", "endpoint")]
    assert endpoint["webrtc"] == "yes"
    assert endpoint["context"] == "axivox-agents"
    assert endpoint["callerid"] == '"Marc Demo" <101>'
    assert endpoint["dtls_auto_generate_cert"] == "yes"
    assert endpoint["disallow"] == "all"
    assert endpoint["allow"] == "ulaw,alaw"
    assert endpoint["auth"] == "101-auth"
    assert endpoint["aors"] == "101"
    auth = sections[("101-auth", "auth")]
    assert auth == {
        "_name": "101-auth",
        "type": "auth",
        "auth_type": "userpass",
        "username": "101",
        "password": "s3cret-101",
    }
    aor = sections[("101", "aor")]
    assert aor["max_contacts"] == "1"
    assert aor["remove_existing"] == "yes"
    # A name cannot break the file: no quote, comment, bracket or new line of its own.
    callerid = sections[("102", "endpoint")]["callerid"]
    assert callerid == '"Joel  JW  Willis  sales [x]" <102>'
    assert text.count("\n[") == 6


@pytest.mark.parametrize(
    "password, valid",
    [
        ("Abc-123_xyz.~!@#$%^&*()+=,:/?", True),
        ("x" * 128, True),
        ("", False),
        ("x" * 129, False),
        ("with space", False),
        ("semi;colon", False),
        ("back\\slash", False),
        ('quo"te', False),
        ("[section]", False),
        ("new\nline", False),
        ("trailing\n", False),
        ("accentué", False),
        (1234, False),
    ],
)
def test_valid_sip_password(password, valid):
    assert dialplan.valid_sip_password(password) is valid


def test_sip_passwords_from_the_data_and_a_file(tmp_path):
    data = {
        "users": [
            {"extension": 101, "name": "A", "sip_password": "from-data-101"},
            {"extension": "102", "name": "B", "sip_password": "from-data-102"},
            {"extension": "103", "name": "C"},
        ]
    }
    assert gateway.sip_passwords(data) == {
        "101": "from-data-101",
        "102": "from-data-102",
    }
    extra = tmp_path / "sip-passwords.json"
    extra.write_text(json.dumps({"102": "from-file-102", "103": "from-file-103"}))
    assert gateway.sip_passwords(data, str(extra)) == {
        "101": "from-data-101",
        "102": "from-file-102",
        "103": "from-file-103",
    }


def test_an_unusable_password_stops_the_gateway_without_showing_it(tmp_path):
    data = {"users": [{"extension": "102", "name": "B", "sip_password": "a;secret"}]}
    with pytest.raises(ValueError) as info:
        gateway.sip_passwords(data)
    assert "102" in str(info.value)
    assert "a;secret" not in str(info.value)
    extra = tmp_path / "sip-passwords.json"
    extra.write_text(json.dumps(["102", "x"]))
    with pytest.raises(ValueError, match="JSON object"):
        gateway.sip_passwords({"users": []}, str(extra))


def test_secret_file_written_for_its_owner_only(tmp_path):
    path = str(tmp_path / "pjsip.conf")
    old = os.umask(0)
    try:
        gateway._write(path, "first\n", 0o600)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        os.chmod(path, 0o644)
        gateway._write(path, "second\n", 0o600)  # replaced: a new file, 0600 again
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="utf-8") as fh:
        assert fh.read() == "second\n"
    assert os.listdir(tmp_path) == ["pjsip.conf"]


def test_local_devices_get_no_sip_endpoints(asterisk_gateway):
    """The demo's devices (``Local/{ext}@axivox-phones``): the gateway leaves
    pjsip.conf as the instance made it."""
    path = os.path.join(asterisk_gateway.asterisk.config_dir, "pjsip.conf")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    assert "type = endpoint" not in text
    assert "Endpoint:  102/" not in asterisk_gateway.cli("pjsip show endpoints")
