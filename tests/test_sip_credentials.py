"""The phone in the browser, Odoo's side: the PBX account's SIP WebSocket URL and each
user's SIP login and password, readable and writable by herself and administrators
only, and handed by the softphone's state to her own browser only."""
import logging

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import AxivoxCase, AxivoxFixtures

SIP_FIELDS = ["axivox_sip_login", "axivox_sip_password"]
WSS = "wss://pabx.example.com:3443"


@tagged("post_install", "-at_install")
class TestSipCredentials(AxivoxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account_a.sip_websocket_url = WSS
        cls.agent.write({"axivox_sip_password": "anna-sip-secret"})
        cls.agent2.write(
            {"axivox_sip_login": "bruno-sip", "axivox_sip_password": "bruno-secret"}
        )
        cls.users_form = cls.env.ref("base.view_users_form")

    def test_she_reads_and_writes_her_own(self):
        anna = self.agent.with_user(self.agent)
        self.assertEqual(
            anna.read(SIP_FIELDS)[0]["axivox_sip_password"], "anna-sip-secret"
        )
        anna.write({"axivox_sip_login": "anna", "axivox_sip_password": "new-one"})
        self.assertEqual(
            (self.agent.axivox_sip_login, self.agent.axivox_sip_password),
            ("anna", "new-one"),
        )
        # her preferences' form of them holds the fields, and reads them
        action = anna.action_axivox_sip_credentials()
        view_id = action["views"][0][0]
        arch = anna.get_view(view_id, "form")["arch"]
        self.assertIn('name="axivox_sip_password"', arch)
        self.assertIn("axivox_sip_password", anna.fields_get(SIP_FIELDS))
        values = anna.web_read({"axivox_sip_login": {}, "axivox_sip_password": {}})
        self.assertEqual(values[0]["axivox_sip_password"], "new-one")

    def test_no_one_else_reads_or_writes_them(self):
        for other in (self.agent2, self.manager, self.employee):
            anna = self.agent.with_user(other)
            for field in SIP_FIELDS:
                with self.subTest(user=other.login, field=field):
                    with self.assertRaises(AccessError):
                        anna.read([field])
                    with self.assertRaises(AccessError):
                        anna.web_read({field: {}})
                    with self.assertRaises(AccessError):
                        self.env["res.users"].with_user(other).search(
                            [(field, "=", "anna-sip-secret")]
                        )
            with self.assertRaises(AccessError):
                anna.write({"axivox_sip_password": "stolen"})
            with self.assertRaises(AccessError):
                anna.action_axivox_sip_credentials()
            # the users' form shows no SIP field to them
            form = self.env["res.users"].with_user(other).get_view(self.users_form.id)
            self.assertNotIn("axivox_sip_password", form["arch"])
        self.assertEqual(self.agent.axivox_sip_password, "anna-sip-secret")

    def test_administrators_read_and_write_them(self):
        anna = self.agent.with_user(self.admin)
        self.assertEqual(anna.axivox_sip_password, "anna-sip-secret")
        anna.write({"axivox_sip_password": "set-by-admin"})
        self.assertEqual(self.agent.axivox_sip_password, "set-by-admin")
        form = self.env["res.users"].with_user(self.admin).get_view(self.users_form.id)
        self.assertIn('name="axivox_sip_password"', form["arch"])

    def test_state_hands_her_own_sip_account_to_her_only(self):
        softphone = self.env["axivox.softphone"]
        state = softphone.with_user(self.agent).get_state()
        self.assertEqual(
            state["sip"],
            {
                "websocket_url": WSS,
                "domain": "pabx.example.com",
                "login": "201",  # no login: her extension
                "password": "anna-sip-secret",
            },
        )
        bruno = softphone.with_user(self.agent2).get_state()
        self.assertEqual(bruno["sip"]["login"], "bruno-sip")
        self.assertNotIn("anna-sip-secret", str(bruno))
        # the manager has no SIP password: no SIP account, and nobody else's
        self.assertIs(softphone.with_user(self.manager).get_state()["sip"], False)

    def test_state_without_url_or_password_keeps_the_api(self):
        softphone = self.env["axivox.softphone"].with_user(self.agent)
        self.agent.axivox_sip_password = False
        self.assertIs(softphone.get_state()["sip"], False)
        self.agent.axivox_sip_password = "anna-sip-secret"
        self.account_a.sip_websocket_url = False
        self.assertIs(softphone.get_state()["sip"], False)

    def test_bad_websocket_url_refused(self):
        for url in (
            "https://pabx.example.com:3443",
            "pabx.example.com:3443",
            "wss://",
            "wss://pabx.example.com:99999",
            "wss://pabx example.com",
            "wss://pabx.example.com/\nws",
        ):
            with self.subTest(url=url):
                with self.assertRaisesRegex(ValidationError, "WebSocket address"):
                    with self.env.cr.savepoint():
                        self.account_a.sip_websocket_url = url
                        self.account_a.flush_recordset()
                self.account_a.invalidate_recordset()
                self.assertEqual(self.account_a.sip_websocket_url, WSS)
        self.account_a.sip_websocket_url = "ws://127.0.0.1:8088/ws"
        self.assertEqual(self.account_a._sip_domain(), "127.0.0.1")

    def test_bad_credentials_refused(self):
        for values, message in (
            ({"axivox_sip_login": "anna smith"}, "SIP login"),
            ({"axivox_sip_login": "anna@pbx"}, "SIP login"),
            ({"axivox_sip_login": "x" * 65}, "SIP login"),
            ({"axivox_sip_password": "a\nb"}, "SIP password"),
            ({"axivox_sip_password": "x" * 129}, "SIP password"),
        ):
            with self.subTest(values=values):
                with self.assertRaisesRegex(ValidationError, message):
                    with self.env.cr.savepoint():
                        self.agent.with_user(self.agent).write(values)
                        self.agent.flush_recordset()
                self.agent.invalidate_recordset()
                self.assertEqual(self.agent.axivox_sip_password, "anna-sip-secret")
                self.assertFalse(self.agent.axivox_sip_login)

    def test_never_logged(self):
        with self.assertLogs("odoo", logging.DEBUG) as logs:
            logging.getLogger("odoo.addons.voip_axivox_queue").debug("start")
            self.agent.with_user(self.agent).write({"axivox_sip_password": "p-4-log"})
            self.env["axivox.softphone"].with_user(self.agent).get_state()
        self.assertNotIn("p-4-log", "\n".join(logs.output))


@tagged("post_install", "-at_install")
class TestSipCredentialsHttp(AxivoxFixtures, HttpCase):
    """Through the web client's RPC, as the browsers ask."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_axivox()
        cls.account_a.sip_websocket_url = WSS
        cls.agent.axivox_sip_password = "anna-sip-secret"

    def call_kw(self, model, method, args, kwargs=None):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    @mute_logger("odoo.http")  # the AccessError of the read refused
    def test_her_browser_only(self):
        self.authenticate("ax_agent_anna", "ax_agent_anna-pass")
        state = self.call_kw("axivox.softphone", "get_state", [])
        self.assertEqual(state["sip"]["password"], "anna-sip-secret")
        self.authenticate("ax_agent_bruno", "ax_agent_bruno-pass")
        self.assertIs(self.call_kw("axivox.softphone", "get_state", [])["sip"], False)
        response = self.url_open(
            "/web/dataset/call_kw/res.users/read",
            data=(
                '{"jsonrpc": "2.0", "method": "call", "params": {"model": "res.users",'
                f' "method": "read", "args": [[{self.agent.id}], '
                '["axivox_sip_password"]], "kwargs": {}}}'
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("AccessError", response.json()["error"]["data"]["name"])
        self.assertNotIn("anna-sip-secret", response.text)
