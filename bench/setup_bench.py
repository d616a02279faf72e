# Run by bench/run.sh inside `odoo-bin shell`: the account, queues and
# users the webhook benchmark posts events for. Prints "TOKEN SECRET".
import os

# odoo-bin shell runs this file with ``env`` among its globals.
env = globals()["env"]

account = env["axivox.account"].create(
    {
        "name": "Bench PBX",
        "api_url": os.environ.get("BENCH_PBX_URL", "http://127.0.0.1:9"),
        "api_key": os.environ.get("BENCH_PBX_KEY", "bench-key"),
        "webhook_secret": "bench-secret",
    }
)
users = (
    env["res.users"]
    .with_context(no_reset_password=True, tracking_disable=True)
    .create(
        [
            {
                "name": f"Bench Agent {i}",
                "login": f"bench{i}",
                "axivox_account_id": account.id,
                "axivox_extension": str(2000 + i),
                "groups_id": [(4, env.ref("voip_axivox_queue.group_axivox_agent").id)],
            }
            for i in range(20)
        ]
    )
)
for q in range(5):
    queue = (
        env["axivox.queue"]
        .with_context(axivox_no_pending_change=True)
        .create(
            {
                "name": f"Bench {q}",
                "account_id": account.id,
                "remote_id": f"bench-q{q}",
                "extension": str(700 + q),
                "login_code": f"*7{q}",
                "logout_code": f"#7{q}",
            }
        )
    )
    env["axivox.queue.member"].with_context(axivox_no_pending_change=True).create(
        [
            {"queue_id": queue.id, "user_id": user.id, "member_type": "dynamic"}
            for user in users
        ]
    )
env.cr.commit()
print(
    "BENCH",
    account.sudo().webhook_token,
    account.sudo().webhook_secret,
    account.id,
    account.company_id.id,
)
