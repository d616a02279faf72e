# Part of voip_axivox_queue. License LGPL-3.
{
    "name": "Axivox Call Queues",
    "summary": "Axivox PBX call queues in Odoo: queues, agents, live login state, "
    "queue report and a softphone in the systray",
    "version": "17.0.1.3.0",
    "category": "Productivity/VoIP",
    "author": "voip_axivox_queue contributors",
    "website": "https://github.com/voip-axivox-queue/voip_axivox_queue",
    "license": "LGPL-3",
    "depends": ["mail", "web_tour", "phone_validation"],
    "external_dependencies": {
        "python": ["requests", "websocket-client", "phonenumbers"]
    },
    "data": [
        "security/axivox_security.xml",
        "security/ir.model.access.csv",
        "data/axivox_queue_event_type_data.xml",
        "data/ir_cron_data.xml",
        "data/axivox_queue_event_quarantine_actions.xml",
        "views/axivox_account_views.xml",
        "views/axivox_queue_member_views.xml",
        "views/axivox_queue_event_views.xml",
        "views/axivox_queue_event_quarantine_views.xml",
        "wizard/axivox_queue_connect_wizard_views.xml",
        "wizard/axivox_queue_report_wizard_views.xml",
        "views/axivox_queue_views.xml",
        "views/axivox_queue_call_views.xml",
        "views/res_partner_views.xml",
        "wizard/axivox_callback_close_wizard_views.xml",
        "views/axivox_callback_views.xml",
        "views/axivox_agent_session_views.xml",
        "views/axivox_wallboard_views.xml",
        "views/res_users_views.xml",
        "views/res_config_settings_views.xml",
        "views/axivox_menus.xml",
    ],
    "demo": [
        "demo/axivox_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "voip_axivox_queue/static/src/**/*",
        ],
        "web.qunit_suite_tests": [
            "voip_axivox_queue/static/tests/*.js",
        ],
        "web.assets_tests": [
            "voip_axivox_queue/static/tests/tours/**/*",
        ],
    },
    "post_init_hook": "post_init_hook",
    "application": True,
}
