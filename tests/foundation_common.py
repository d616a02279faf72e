"""Fixtures of the foundation tests: two companies, a PBX account each, users with
extensions in every role, queues and memberships. Nothing comes from the demo data and
nothing reaches the network (the tests never call the PBX)."""

from odoo.tests.common import TransactionCase, new_test_user

AGENT = "base.group_user,voip_axivox_queue.group_axivox_agent"
MANAGER = "base.group_user,voip_axivox_queue.group_axivox_manager"
ADMIN = "base.group_user,base.group_system"


class AxivoxFixtures:
    """Mixin building the fixtures in ``setUpClass`` (usable by TransactionCase and HttpCase)."""

    @classmethod
    def _setup_axivox(cls):
        env = cls.env
        cls.company_a = env.company
        cls.company_b = env["res.company"].create({"name": "Axivox Test Company B"})
        Account = env["axivox.account"]
        cls.account_a = Account.create(
            {
                "name": "PBX A (tests)",
                "company_id": cls.company_a.id,
                "api_url": "http://127.0.0.1:9",
                "api_key": "key-a-secret",
                "webhook_secret": "whsec-a-secret",
            }
        )
        cls.account_b = Account.create(
            {
                "name": "PBX B (tests)",
                "company_id": cls.company_b.id,
                "api_url": "http://127.0.0.1:9",
                "api_key": "key-b-secret",
                "webhook_secret": "whsec-b-secret",
            }
        )

        def user(login, groups, account, extension, company):
            return new_test_user(
                env,
                login,
                groups=groups,
                password=login + "-pass",
                context={"no_reset_password": True},
                name=login.replace("_", " ").title(),
                company_id=company.id,
                company_ids=[(6, 0, company.ids)],
                axivox_account_id=account.id if account else False,
                axivox_extension=extension,
            )

        cls.agent = user("ax_agent_anna", AGENT, cls.account_a, "201", cls.company_a)
        cls.agent2 = user("ax_agent_bruno", AGENT, cls.account_a, "202", cls.company_a)
        cls.manager = user(
            "ax_manager_mia", MANAGER, cls.account_a, "203", cls.company_a
        )
        cls.admin = user("ax_admin_adam", ADMIN, None, False, cls.company_a)
        cls.agent_b = user("ax_agent_bea", AGENT, cls.account_b, "201", cls.company_b)
        cls.manager_b = user(
            "ax_manager_ben", MANAGER, cls.account_b, "203", cls.company_b
        )
        cls.employee = user(
            "ax_employee_eve", "base.group_user", None, False, cls.company_a
        )

        Queue = env["axivox.queue"]
        cls.queue_sales = Queue.create(
            {
                "name": "Sales (tests)",
                "account_id": cls.account_a.id,
                "extension": "600",
                "login_code": "*61",
                "logout_code": "*62",
            }
        )
        cls.queue_support = Queue.create(
            {
                "name": "Support (tests)",
                "account_id": cls.account_a.id,
                "extension": "700",
                "login_code": "*71",
                "logout_code": "*72",
                "strategy": "leastrecent",
            }
        )
        cls.queue_b = Queue.create(
            {
                "name": "Ventes B (tests)",
                "account_id": cls.account_b.id,
                "extension": "600",
                "login_code": "*61",
                "logout_code": "*62",
            }
        )
        Member = env["axivox.queue.member"]
        # Anna: dynamic in Sales (logged out); Bruno: static in Sales, dynamic in Support.
        cls.m_anna_sales = Member.create(
            {
                "queue_id": cls.queue_sales.id,
                "user_id": cls.agent.id,
                "member_type": "dynamic",
                "connected": False,
            }
        )
        cls.m_bruno_sales = Member.create(
            {
                "queue_id": cls.queue_sales.id,
                "user_id": cls.agent2.id,
                "member_type": "static",
            }
        )
        cls.m_bruno_support = Member.create(
            {
                "queue_id": cls.queue_support.id,
                "user_id": cls.agent2.id,
                "member_type": "dynamic",
                "connected": False,
            }
        )
        cls.m_bea_b = Member.create(
            {
                "queue_id": cls.queue_b.id,
                "user_id": cls.agent_b.id,
                "member_type": "static",
            }
        )


class AxivoxCase(AxivoxFixtures, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_axivox()
