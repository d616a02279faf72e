/** @odoo-module **/

import {
    click,
    destroy,
    editInput,
    getFixture,
    mockTimeout,
    nextTick,
} from "@web/../tests/helpers/utils";
import {makeView, setupViewRegistries} from "@web/../tests/views/helpers";
import {EventBus} from "@odoo/owl";
import {LIVE_RELOAD_DELAY} from "@voip_axivox_queue/live_views/live_reload";
import {MEMBER_STATE_NOTIFICATION} from "@voip_axivox_queue/softphone/softphone_service";
import {noop} from "./axivox_test_utils";
import {registry} from "@web/core/registry";

const serviceRegistry = registry.category("services");

let serverData = null;
let target = null;
// The fake bus service's event bus
let bus = null;
// How many "notification" listeners the views keep on the bus
let listeners = 0;
let advanceTime = null;

/** What the PBX's webhook does to the server: agent `memberId` logs in (or out). */
function setConnected(memberId, connected) {
    const {"axivox.queue": queues, "axivox.queue.member": members} = serverData.models;
    const member = members.records.find((m) => m.id === memberId);
    member.connected = connected;
    const queue = queues.records.find((q) => q.id === member.queue_id);
    const connectedMembers = members.records.filter(
        (m) => m.queue_id === queue.id && m.connected
    );
    queue.connected_count = connectedMembers.length;
    queue.connected_agents = connectedMembers.map((m) => m.display_name).join(", ");
    queue.connected_member_ids = connectedMembers.map((m) => m.id);
    return {
        member_id: member.id,
        queue_id: queue.id,
        queue_name: queue.display_name,
        user_id: 7,
        agent_name: member.display_name,
        connected,
        connected_since: connected ? "2024-03-04 09:00:00" : false,
        source: "pbx",
        connected_count: queue.connected_count,
        connected_agents: queue.connected_agents,
    };
}

/** One message of the bus, as Odoo 17's bus service gives it to its listeners. */
async function notify(...payloads) {
    bus.trigger(
        "notification",
        payloads.map((payload) => ({type: MEMBER_STATE_NOTIFICATION, payload}))
    );
    await nextTick();
}

/** A view of the queues (or ``params.resModel``) whose every RPC is an assert step. */
function makeStepView(assert, params) {
    return makeView({
        resModel: "axivox.queue",
        serverData,
        mockRPC(route, {method}) {
            assert.step(method);
        },
        ...params,
    });
}

function cellTexts(selector) {
    return [...target.querySelectorAll(selector)].map((el) => el.textContent.trim());
}

/** The texts of the list's column of field ``name``. */
function columnTexts(name) {
    return cellTexts(`.o_data_cell[name=${name}]`);
}

/** What the form shows in field ``name``: the text, or the value of its input. */
function fieldText(name) {
    const field = target.querySelector(`.o_field_widget[name=${name}]`);
    const input = field.querySelector("input");
    return input ? input.value : field.textContent;
}

const QUEUE_LIST = `
    <tree js_class="axivox_queue_list">
        <field name="display_name"/>
        <field name="connected_agents"/>
        <field name="connected_count"/>
    </tree>`;

const QUEUE_FORM = `
    <form js_class="axivox_queue_form">
        <sheet>
            <field name="connected_count" readonly="1"/>
            <field name="display_name"/>
            <field name="dynamic_member_ids">
                <tree editable="bottom">
                    <field name="display_name"/>
                    <field name="connected" readonly="1"/>
                </tree>
            </field>
            <field name="connected_member_ids" readonly="1">
                <tree>
                    <field name="display_name"/>
                </tree>
            </field>
        </sheet>
    </form>`;

QUnit.module("live views", (hooks) => {
    hooks.beforeEach(() => {
        target = getFixture();
        listeners = 0;
        serverData = {
            models: {
                "axivox.queue": {
                    fields: {
                        display_name: {string: "Name", type: "char"},
                        connected_agents: {string: "Connected agents", type: "char"},
                        connected_count: {string: "Connected", type: "integer"},
                        dynamic_member_ids: {
                            string: "Dynamic agents",
                            type: "one2many",
                            relation: "axivox.queue.member",
                            relation_field: "queue_id",
                        },
                        connected_member_ids: {
                            string: "Connected agents",
                            type: "one2many",
                            relation: "axivox.queue.member",
                        },
                    },
                    records: [
                        {
                            id: 1,
                            display_name: "Sales",
                            connected_agents: "Sofia",
                            connected_count: 1,
                            dynamic_member_ids: [11, 12],
                            connected_member_ids: [11],
                        },
                        {
                            id: 3,
                            display_name: "Billing",
                            connected_agents: "",
                            connected_count: 0,
                            dynamic_member_ids: [13],
                            connected_member_ids: [],
                        },
                    ],
                },
                "axivox.queue.member": {
                    fields: {
                        display_name: {string: "Agent", type: "char"},
                        queue_id: {
                            string: "Queue",
                            type: "many2one",
                            relation: "axivox.queue",
                        },
                        connected: {string: "Connected", type: "boolean"},
                    },
                    records: [
                        {id: 11, display_name: "Sofia", queue_id: 1, connected: true},
                        {id: 12, display_name: "Luca", queue_id: 1, connected: false},
                        {id: 13, display_name: "Hugo", queue_id: 3, connected: false},
                    ],
                },
            },
        };
        setupViewRegistries();
        // Odoo 17's bus service, without its worker: an event bus the test triggers.
        serviceRegistry.add(
            "bus_service",
            {
                // As the real one: `useService` cannot wrap it
                async: true,
                start() {
                    bus = new EventBus();
                    return {
                        addEventListener(type, callback) {
                            listeners += type === "notification" ? 1 : 0;
                            bus.addEventListener(type, callback);
                        },
                        removeEventListener(type, callback) {
                            listeners -= type === "notification" ? 1 : 0;
                            bus.removeEventListener(type, callback);
                        },
                        trigger: bus.trigger.bind(bus),
                        subscribe: noop,
                        addChannel: noop,
                        deleteChannel: noop,
                        start: noop,
                    };
                },
            },
            {force: true}
        );
        advanceTime = mockTimeout().advanceTime;
    });

    QUnit.test(
        "queues list: a login reloads the list once, after the delay",
        async (assert) => {
            const view = await makeStepView(assert, {type: "list", arch: QUEUE_LIST});
            assert.verifySteps(["get_views", "web_search_read"]);
            assert.deepEqual(columnTexts("connected_count"), ["1", "0"]);
            assert.strictEqual(listeners, 1, "the list listens to the bus");

            await notify(setConnected(13, true));
            assert.verifySteps([], "nothing before the delay");
            await advanceTime(LIVE_RELOAD_DELAY);
            assert.verifySteps(["web_search_read"]);
            assert.deepEqual(columnTexts("connected_count"), ["1", "1"]);
            assert.deepEqual(columnTexts("connected_agents"), ["Sofia", "Hugo"]);

            destroy(view);
            assert.strictEqual(listeners, 0, "it stops listening when it is unmounted");
        }
    );

    QUnit.test(
        "queues list: a burst of notifications makes one reload",
        async (assert) => {
            await makeStepView(assert, {type: "list", arch: QUEUE_LIST});
            assert.verifySteps(["get_views", "web_search_read"]);
            // Other notification types are not ours
            bus.trigger("notification", [{type: "mail.record/insert", payload: {}}]);
            await advanceTime(LIVE_RELOAD_DELAY);
            assert.verifySteps([]);

            await notify(setConnected(12, true), setConnected(13, true));
            await advanceTime(100);
            await notify(setConnected(11, false));
            await advanceTime(100);
            await notify(setConnected(11, true));
            assert.verifySteps([], "still waiting");
            await advanceTime(100);
            assert.verifySteps(
                ["web_search_read"],
                "one reload within the delay of the first"
            );
            assert.deepEqual(columnTexts("connected_count"), ["2", "1"]);
            assert.deepEqual(columnTexts("connected_agents"), ["Sofia, Luca", "Hugo"]);
            await advanceTime(LIVE_RELOAD_DELAY * 3);
            assert.verifySteps([], "and no more");
        }
    );

    QUnit.test("queues list: the selection survives a reload", async (assert) => {
        await makeView({
            type: "list",
            resModel: "axivox.queue",
            serverData,
            arch: QUEUE_LIST,
        });
        await click(
            target.querySelectorAll(".o_data_row .o_list_record_selector input")[1]
        );
        assert.containsOnce(
            target,
            ".o_data_row .o_list_record_selector input:checked"
        );
        await notify(setConnected(13, true));
        await advanceTime(LIVE_RELOAD_DELAY);
        assert.deepEqual(columnTexts("connected_count"), ["1", "1"]);
        const checked = target.querySelectorAll(
            ".o_data_row .o_list_record_selector input"
        );
        assert.deepEqual(
            [...checked].map((input) => input.checked),
            [false, true]
        );
    });

    QUnit.test("queues kanban: the connected count changes live", async (assert) => {
        await makeStepView(assert, {
            type: "kanban",
            arch: `
                <kanban js_class="axivox_queue_kanban">
                    <templates>
                        <t t-name="kanban-box">
                            <div>
                                <field name="display_name"/>
                                <span class="o_test_count"><field name="connected_count"/></span>
                                <span class="o_test_agents"><field name="connected_agents"/></span>
                            </div>
                        </t>
                    </templates>
                </kanban>`,
        });
        assert.verifySteps(["get_views", "web_search_read"]);
        assert.deepEqual(cellTexts(".o_test_count"), ["1", "0"]);
        await notify(setConnected(12, true));
        await notify(setConnected(13, true));
        await advanceTime(LIVE_RELOAD_DELAY);
        assert.verifySteps(["web_search_read"]);
        assert.deepEqual(cellTexts(".o_test_count"), ["2", "1"]);
        assert.deepEqual(cellTexts(".o_test_agents"), ["Sofia, Luca", "Hugo"]);
    });

    QUnit.test(
        "queue form: its own queue's notifications reload it",
        async (assert) => {
            await makeStepView(assert, {type: "form", resId: 1, arch: QUEUE_FORM});
            assert.verifySteps(["get_views", "web_read"]);
            assert.strictEqual(fieldText("connected_count"), "1");
            assert.containsOnce(target, "[name=connected_member_ids] .o_data_row");

            // Billing: not this form's queue
            await notify(setConnected(13, true));
            await advanceTime(LIVE_RELOAD_DELAY);
            assert.verifySteps([]);

            await notify(setConnected(12, true));
            await advanceTime(LIVE_RELOAD_DELAY);
            assert.verifySteps(["web_read"]);
            assert.strictEqual(fieldText("connected_count"), "2");
            const flags = target.querySelectorAll(
                "[name=dynamic_member_ids] .o_data_row [name=connected] input"
            );
            assert.deepEqual(
                [...flags].map((input) => input.checked),
                [true, true]
            );
            assert.deepEqual(
                cellTexts("[name=connected_member_ids] .o_data_row .o_data_cell"),
                ["Sofia", "Luca"]
            );
        }
    );

    QUnit.test("queue form: unsaved changes are never lost", async (assert) => {
        await makeStepView(assert, {type: "form", resId: 1, arch: QUEUE_FORM});
        assert.verifySteps(["get_views", "web_read"]);
        await editInput(target, ".o_field_widget[name=display_name] input", "Sales EU");
        await notify(setConnected(12, true));
        await advanceTime(LIVE_RELOAD_DELAY);
        assert.verifySteps([], "a dirty form is not read again");
        assert.strictEqual(fieldText("display_name"), "Sales EU");
        assert.strictEqual(fieldText("connected_count"), "1");
        assert.containsOnce(target, ".o_form_status_indicator_buttons:not(.invisible)");

        await click(target, ".o_form_button_cancel");
        await nextTick();
        assert.verifySteps(["web_read"], "discarding reads what was left aside");
        assert.strictEqual(fieldText("display_name"), "Sales");
        assert.strictEqual(fieldText("connected_count"), "2");
    });

    QUnit.test("queue agents list: the connected flags change live", async (assert) => {
        await makeStepView(assert, {
            type: "list",
            resModel: "axivox.queue.member",
            arch: `
                <tree js_class="axivox_queue_member_list">
                    <field name="queue_id"/>
                    <field name="display_name"/>
                    <field name="connected"/>
                </tree>`,
        });
        assert.verifySteps(["get_views", "web_search_read"]);
        const flags = () =>
            [...target.querySelectorAll(".o_data_cell[name=connected] input")].map(
                (i) => i.checked
            );
        assert.deepEqual(flags(), [true, false, false]);
        await notify(setConnected(11, false));
        await notify(setConnected(13, true));
        await advanceTime(LIVE_RELOAD_DELAY);
        assert.verifySteps(["web_search_read"]);
        assert.deepEqual(flags(), [false, false, true]);
    });
});
