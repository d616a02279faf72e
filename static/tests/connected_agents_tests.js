/** @odoo-module **/

import "@voip_axivox_queue/connected_agents/connected_agents_field";
import {addFakeBus, textOf} from "./axivox_test_utils";
import {click, getFixture, nextTick} from "@web/../tests/helpers/utils";
import {makeView, setupViewRegistries} from "@web/../tests/views/helpers";
import {makeFakeNotificationService} from "@web/../tests/helpers/mock_services";
import {registry} from "@web/core/registry";

let serverData = null;
let target = null;
let notifications = [];

function dashboardArch(isManager) {
    const options = isManager ? `options="{'disconnect': true}"` : "";
    return `
        <tree>
            <field name="name"/>
            <field name="connected_member_ids" widget="axivox_connected_agents" ${options}/>
        </tree>`;
}

function agents(row) {
    return [...row.querySelectorAll(".o_axivox_agent")].map((el) => ({
        name: textOf(el, ".o_axivox_agent_name"),
        always: Boolean(el.querySelector(".o_axivox_agent_always")),
        disconnect: Boolean(el.querySelector(".o_axivox_agent_disconnect")),
        onCall: Boolean(el.querySelector(".o_axivox_agent_call")),
    }));
}

function rows() {
    return [...target.querySelectorAll(".o_data_row")];
}

/** Waits (a few frames at most) for the PBX call and the row's reload to be shown. */
async function until(condition) {
    for (let i = 0; i < 20 && !condition(); i++) {
        await nextTick();
    }
    await nextTick();
}

async function dashboard(isManager, onDisconnect, onConnect) {
    return makeView({
        type: "list",
        resModel: "axivox.queue",
        serverData,
        arch: dashboardArch(isManager),
        mockRPC(route, args) {
            if (args.method === "action_disconnect") {
                return onDisconnect(args.args[0]);
            }
            if (args.method === "action_connect") {
                return onConnect(args.args[0]);
            }
        },
    });
}

QUnit.module("connected agents on the dashboard", (hooks) => {
    hooks.beforeEach(() => {
        target = getFixture();
        serverData = {
            models: {
                "axivox.queue": {
                    fields: {
                        name: {string: "Name", type: "char"},
                        connected_member_ids: {
                            string: "Connected agents",
                            type: "one2many",
                            relation: "axivox.queue.member",
                        },
                    },
                    records: [
                        {id: 1, name: "Sales", connected_member_ids: [11, 12]},
                        {id: 2, name: "Billing", connected_member_ids: []},
                    ],
                },
                "axivox.queue.member": {
                    fields: {
                        user_id: {
                            string: "Agent",
                            type: "many2one",
                            relation: "res.users",
                        },
                        member_type: {
                            string: "Type",
                            type: "selection",
                            selection: [
                                ["static", "Static"],
                                ["dynamic", "Dynamic"],
                            ],
                        },
                        on_call: {string: "On a call", type: "boolean"},
                        on_call_since: {string: "On a call since", type: "datetime"},
                    },
                    records: [
                        {id: 11, user_id: 101, member_type: "static", on_call: false},
                        {
                            id: 12,
                            user_id: 102,
                            member_type: "dynamic",
                            on_call: true,
                            on_call_since: "2024-03-04 09:01:05",
                        },
                    ],
                },
                "res.users": {
                    fields: {name: {string: "Name", type: "char"}},
                    records: [
                        {
                            id: 101,
                            name: "Mitchell Admin",
                            display_name: "Mitchell Admin",
                        },
                        {id: 102, name: "Sofia Rossi", display_name: "Sofia Rossi"},
                    ],
                },
            },
        };
        setupViewRegistries();
        addFakeBus();
        notifications = [];
        registry.category("services").add(
            "notification",
            makeFakeNotificationService((message, options) => {
                const notification = {message, options, closed: false};
                notifications.push(notification);
                return () => {
                    notification.closed = true;
                };
            }),
            {force: true}
        );
    });

    QUnit.test(
        "each queue shows its connected agents; static ones always connected",
        async (assert) => {
            await dashboard(true);
            const [sales, billing] = rows();
            assert.strictEqual(
                JSON.stringify(agents(sales)),
                JSON.stringify([
                    {
                        name: "Mitchell Admin",
                        always: true,
                        disconnect: false,
                        onCall: false,
                    },
                    {
                        name: "Sofia Rossi",
                        always: false,
                        disconnect: true,
                        onCall: true,
                    },
                ])
            );
            const call = sales.querySelector(".o_axivox_agent_call");
            assert.ok(
                call.title.startsWith("On a queue call since "),
                "on a queue call, and since when"
            );
            assert.ok(call.title.includes("2024"), call.title);
            assert.notOk(call.textContent.includes("Invalid"), call.textContent);
            assert.ok(/\d\d:\d\d/.test(call.textContent), call.textContent);
            assert.strictEqual(
                textOf(billing, ".o_axivox_no_agent"),
                "No agent connected"
            );
        }
    );

    QUnit.test(
        "Disconnect: one click disconnects at once; the notification's Reconnect undoes it",
        async (assert) => {
            // (read when called: the mock server keeps its own copy of the records)
            const sales = () => serverData.models["axivox.queue"].records[0];
            await dashboard(
                true,
                (ids) => {
                    assert.step(`disconnect ${ids}`);
                    sales().connected_member_ids = [11];
                    return true;
                },
                (ids) => {
                    assert.step(`connect ${ids}`);
                    sales().connected_member_ids = [11, 12];
                    return true;
                }
            );
            const button = rows()[0].querySelector(".o_axivox_agent_disconnect");
            assert.hasClass(button, "btn-danger", "the console's red button");
            assert.strictEqual(button.textContent.trim(), "Disconnect");
            await click(button);
            await until(() => notifications.length);
            assert.containsNone(target, ".modal", "no confirmation");
            assert.containsNone(target, ".o_form_view", "the row did not open");
            assert.verifySteps(["disconnect 12"]);
            assert.deepEqual(
                agents(rows()[0]).map((a) => a.name),
                ["Mitchell Admin"]
            );
            assert.strictEqual(notifications.length, 1);
            const [disconnected] = notifications;
            assert.strictEqual(
                disconnected.message.toString(),
                "Sofia Rossi is disconnected from Sales."
            );
            const [reconnect] = disconnected.options.buttons;
            assert.strictEqual(reconnect.name.toString(), "Reconnect");
            // Reconnect: the PBX connects her again, the row shows her again.
            await reconnect.onClick();
            await until(() => notifications.length > 1);
            assert.ok(disconnected.closed, "the offer to undo goes");
            assert.verifySteps(["connect 12"]);
            assert.deepEqual(
                agents(rows()[0]).map((a) => a.name),
                ["Mitchell Admin", "Sofia Rossi"]
            );
            assert.strictEqual(
                notifications[1].message.toString(),
                "Sofia Rossi is connected to Sales again."
            );
        }
    );

    QUnit.test(
        "agents (not managers) see who is connected, without Disconnect",
        async (assert) => {
            await dashboard(false);
            assert.containsNone(target, ".o_axivox_agent_disconnect");
            assert.containsN(rows()[0], ".o_axivox_agent", 2);
        }
    );
});
