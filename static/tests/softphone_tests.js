/** @odoo-module **/

import {
    CALL_POLL_INTERVAL,
    CALL_POLL_MAX_ERRORS,
    CALL_SETTLE_DELAY,
    MEMBER_STATE_NOTIFICATION,
    PENDING_TIMEOUT,
    cleanNumber,
} from "@voip_axivox_queue/softphone/softphone_service";
import {
    SoftphoneSystrayItem,
    systrayItem,
} from "@voip_axivox_queue/softphone/softphone_systray_item";
import {
    UID,
    mountSoftphone,
    notifyBus,
    openSoftphone,
    queueRow,
    setupSoftphone,
    textOf,
} from "./axivox_test_utils";
import {
    click,
    editInput,
    getFixture,
    nextTick,
    patchWithCleanup,
    triggerEvent,
} from "@web/../tests/helpers/utils";
import {browser} from "@web/core/browser/browser";
import {makeServerError} from "@web/../tests/helpers/mock_server";
import {session} from "@web/session";

function softphoneState() {
    return {
        extension: "102",
        queues: [
            {
                member_id: 11,
                queue_id: 1,
                name: "Sales",
                extension: "600",
                login_code: "*600",
                logout_code: "#600",
                member_type: "dynamic",
                connected: true,
                connected_since: "2024-03-04 08:15:00",
                connected_count: 2,
            },
            {
                member_id: 12,
                queue_id: 2,
                name: "Support",
                extension: "610",
                login_code: "*610",
                logout_code: "#610",
                member_type: "static",
                connected: true,
                connected_since: "2024-03-01 07:00:00",
                connected_count: 1,
            },
            {
                member_id: 13,
                queue_id: 3,
                name: "Billing",
                extension: "620",
                login_code: "*620",
                logout_code: "#620",
                member_type: "dynamic",
                connected: false,
                connected_since: false,
                connected_count: 0,
            },
        ],
        connected_queue_count: 2,
    };
}

function callInfo(to, outcome, extra = {}) {
    return {
        id: "call-1",
        from: "102",
        to,
        state: "answered",
        outcome,
        message: null,
        ...extra,
    };
}

/** Sofia's memberships of Sales and Billing, as the server names them. */
const SALES = {member_id: 11, queue_id: 1};
const BILLING = {member_id: 13, queue_id: 3};

/** What the server answers for a queue code dialled for ``member`` (SALES, BILLING). */
function codeCallInfo(to, outcome, member, extra = {}) {
    return {...callInfo(to, outcome, extra), ...member};
}

function memberState(member, values = {}) {
    return {
        member_id: 13,
        queue_id: 3,
        queue_name: "Billing",
        user_id: UID,
        agent_name: "Sofia Rossi",
        connected: true,
        connected_since: "2024-03-04 09:00:00",
        source: "pbx",
        connected_count: 1,
        connected_agents: "Sofia Rossi",
        ...member,
        ...values,
    };
}

/** Sofia disconnected from Sales (the source of the change in ``values``). */
function salesDisconnected(values = {}) {
    return memberState(
        {member_id: 11, queue_id: 1, queue_name: "Sales"},
        {connected: false, connected_since: false, connected_count: 1, ...values}
    );
}

let target = null;
// The server methods called: {key: "model/method", args}
let calls = [];
// "model/method" -> (args) => result (may throw)
let handlers = {};
let busCallbacks = {};
let timeouts = [];

/**
 * The server's ``method`` ("connect", "disconnect") is called for ``member`` alone and
 * answers that it dialled ``to``.
 */
function expectCodeCall(assert, method, member, to, outcome) {
    handlers[`axivox.softphone/${method}`] = (ids) => {
        assert.deepEqual(ids, [member.member_id]);
        return codeCallInfo(to, outcome, member);
    };
}

/** Run the softphone's pending timers of ``delay`` (not cleared), as time passing would. */
async function runTimers(delay) {
    const due = timeouts.filter((t) => t.delay === delay && !t.cleared && !t.done);
    for (const timer of due) {
        timer.done = true;
        timer.fn();
    }
    for (let i = 0; i < 5; i++) {
        await nextTick();
    }
    return due.length;
}

function pendingTimer() {
    return timeouts.find((t) => t.delay === PENDING_TIMEOUT);
}

function callStatus() {
    const el = target.querySelector(".o_axivox_call_status");
    return el ? el.textContent : null;
}

function rowOf(name) {
    return queueRow(target, name);
}

function badge() {
    const el = target.querySelector(
        ".o_axivox_softphone_systray .o_axivox_softphone_badge"
    );
    return el ? el.textContent : null;
}

function notify(payload) {
    return notifyBus(busCallbacks, MEMBER_STATE_NOTIFICATION, payload);
}

function start() {
    return mountSoftphone(target, calls, handlers);
}

function openPanel() {
    return openSoftphone(target);
}

/** The text of ``part`` (".o_axivox_queue_<part>") in the row of queue ``name``. */
function queueText(name, part) {
    return textOf(rowOf(name), `.o_axivox_queue_${part}`);
}

/** Start, open the panel, click ``button`` in the row of queue ``name``. */
async function clickInPanel(name, button) {
    await start();
    await openPanel();
    await click(rowOf(name), button);
    await nextTick();
}

/** Type ``number`` on the open panel's pad and press Call. */
async function dial(number) {
    await editInput(target, ".o_axivox_dial_input", number);
    await click(target, ".o_axivox_dial_call");
    await nextTick();
}

/** The panel's feedback line. */
function feedback() {
    return target.querySelector(".o_axivox_softphone_feedback").textContent.trim();
}

/** How many agents a queue row says are connected. */
/** The count of connected agents: the number shown, then its title. */
function countText(row) {
    const count = row.querySelector(".o_axivox_queue_count");
    return `${count.textContent.trim()} ${count.title}`;
}

/** How many times the server method ``key`` ("model/method") was called. */
function callCount(key) {
    return calls.filter((c) => c.key === key).length;
}

QUnit.module("softphone", (hooks) => {
    hooks.beforeEach(() => {
        target = getFixture();
        ({calls, busCallbacks} = setupSoftphone());
        timeouts = [];
        handlers = {"axivox.softphone/get_state": () => softphoneState()};
        const {setTimeout, clearTimeout} = browser;
        patchWithCleanup(browser, {
            // The softphone's timers (fallback, call poll, settle) are run by hand; other
            // timers run as usual
            setTimeout: (fn, delay, ...args) =>
                [PENDING_TIMEOUT, CALL_POLL_INTERVAL, CALL_SETTLE_DELAY].includes(delay)
                    ? -timeouts.push({fn, delay})
                    : setTimeout(fn, delay, ...args),
            clearTimeout: (id) => {
                if (id < 0) {
                    if (timeouts[-id - 1]) {
                        timeouts[-id - 1].cleared = true;
                    }
                    return;
                }
                clearTimeout(id);
            },
        });
    });

    QUnit.test("the phone is shown only to users with an extension", async (assert) => {
        assert.ok(systrayItem.isDisplayed());
        patchWithCleanup(session, {axivox_extension: false});
        assert.notOk(systrayItem.isDisplayed());
        // Odoo's own VoIP widget installed: it is the phone, no second icon
        patchWithCleanup(session, {
            axivox_extension: "102",
            axivox_phone_widget: "voip",
        });
        assert.notOk(systrayItem.isDisplayed());
        patchWithCleanup(session, {axivox_phone_widget: false});
        assert.ok(systrayItem.isDisplayed());
        // The registration itself (the QUnit set-up empties the systray registry) is proven
        // in the real web client by the tour, which opens the panel from the phone icon.
        assert.strictEqual(systrayItem.Component, SoftphoneSystrayItem);
    });

    QUnit.test("no extension: no state read, no bus subscription", async (assert) => {
        patchWithCleanup(session, {axivox_extension: false});
        await start();
        assert.deepEqual(calls, []);
        assert.notOk(busCallbacks[MEMBER_STATE_NOTIFICATION]);
        await openPanel();
        assert.containsNone(target, ".o_axivox_softphone_panel");
        assert.deepEqual(calls, [], "still nothing read");
    });

    QUnit.test(
        "badge counts connected queues; the state is read in one call",
        async (assert) => {
            await start();
            assert.strictEqual(badge(), "2");
            assert.deepEqual(
                calls.map((c) => c.key),
                ["axivox.softphone/get_state"]
            );
            assert.containsNone(target, ".o_axivox_softphone_panel");
            await openPanel();
            assert.containsOnce(target, ".o_axivox_softphone_panel");
            assert.strictEqual(calls.length, 1, "opening the panel reads nothing more");
            assert.strictEqual(
                target
                    .querySelector(".o_axivox_softphone_extension")
                    .textContent.trim(),
                "Ext. 102"
            );
            await openPanel();
            assert.containsNone(
                target,
                ".o_axivox_softphone_panel",
                "the icon closes it again"
            );
        }
    );

    QUnit.test(
        "the queue list: names, extensions, types, states, counts, buttons",
        async (assert) => {
            await start();
            await openPanel();
            assert.containsN(target, ".o_axivox_queue_row", 3);
            const sales = rowOf("Sales");
            assert.containsNone(
                target,
                ".o_axivox_queue_extension",
                "the queue's own extension is not invited"
            );
            // The codes to dial, and the buttons' titles that say what they dial
            for (const [name, part, property, value] of [
                ["Sales", "login_code", "textContent", "*600"],
                ["Sales", "login_code", "title", "Dial *600 to connect to Sales"],
                ["Sales", "logout_code", "textContent", "#600"],
                ["Sales", "disconnect", "title", "Dial #600 to disconnect from Sales"],
                ["Billing", "login_code", "textContent", "*620"],
                ["Billing", "connect", "title", "Dial *620 to connect to Billing"],
            ]) {
                const el = rowOf(name).querySelector(`.o_axivox_queue_${part}`);
                assert.strictEqual(
                    property === "title" ? el.title : el.textContent.trim(),
                    value,
                    `${name}: ${part}, ${property}`
                );
            }
            assert.strictEqual(queueText("Sales", "type"), "Dynamic");
            assert.strictEqual(queueText("Sales", "status"), "connected");
            assert.ok(
                sales
                    .querySelector(".o_axivox_queue_since")
                    .textContent.startsWith("since ")
            );
            assert.strictEqual(countText(sales), "2 2 agents connected");
            assert.containsOnce(sales, ".o_axivox_queue_disconnect");
            assert.containsNone(sales, ".o_axivox_queue_connect");

            const support = rowOf("Support");
            assert.strictEqual(queueText("Support", "type"), "Static");
            assert.strictEqual(queueText("Support", "status"), "always connected");
            assert.containsNone(support, "button", "a static agent has no button");
            assert.containsNone(support, ".o_axivox_queue_codes", "nor codes to dial");
            assert.ok(countText(support).includes("1 agent connected"));

            const billing = rowOf("Billing");
            assert.strictEqual(queueText("Billing", "status"), "not connected");
            assert.strictEqual(countText(billing), "0 no agent connected");
            assert.notOk(
                textOf(billing, ".o_axivox_queue_state").includes("agent connected"),
                "the row says 'not connected' once, the count is a number"
            );
            assert.containsOnce(billing, ".o_axivox_queue_connect");
            assert.containsNone(billing, ".o_axivox_queue_since");
        }
    );

    QUnit.test(
        "Connect dials the code, shows connecting..., the bus event connects",
        async (assert) => {
            expectCodeCall(assert, "connect", BILLING, "*620", "logged_in");
            await clickInPanel("Billing", ".o_axivox_queue_connect");
            assert.strictEqual(queueText("Billing", "pending_label"), "connecting...");
            assert.containsNone(rowOf("Billing"), ".o_axivox_queue_connect");
            assert.strictEqual(badge(), "2", "not connected before the PBX says so");
            assert.strictEqual(
                pendingTimer().delay,
                15000,
                "a fallback re-read is planned"
            );

            await notify(memberState({}));
            const billing = rowOf("Billing");
            assert.strictEqual(queueText("Billing", "status"), "connected");
            assert.ok(countText(billing).includes("1 agent connected"));
            assert.containsOnce(billing, ".o_axivox_queue_disconnect");
            assert.strictEqual(badge(), "3");
            assert.containsOnce(target, ".o_axivox_call_status");
        }
    );

    QUnit.test(
        "Disconnect dials the disconnection code; the bus event disconnects",
        async (assert) => {
            expectCodeCall(assert, "disconnect", SALES, "#600", "logged_out");
            await clickInPanel("Sales", ".o_axivox_queue_disconnect");
            assert.strictEqual(queueText("Sales", "pending_label"), "disconnecting...");
            await notify(salesDisconnected({source: "widget"}));
            assert.strictEqual(queueText("Sales", "status"), "not connected");
            assert.strictEqual(badge(), "1");
        }
    );

    QUnit.test(
        "a refused code leaves the row as it was and says why",
        async (assert) => {
            handlers["axivox.softphone/connect"] = () =>
                codeCallInfo("*620", "not_a_member", BILLING, {
                    message: "You are not an agent of the Billing queue.",
                });
            await clickInPanel("Billing", ".o_axivox_queue_connect");
            const billing = rowOf("Billing");
            assert.strictEqual(queueText("Billing", "status"), "not connected");
            assert.containsOnce(
                billing,
                ".o_axivox_queue_connect",
                "the button is back"
            );
            assert.strictEqual(
                queueText("Billing", "error"),
                "The PBX says you are not an agent of Billing."
            );
            assert.strictEqual(badge(), "2");
        }
    );

    QUnit.test(
        "a server error (PBX unreachable) leaves the row as it was",
        async (assert) => {
            handlers["axivox.softphone/connect"] = () => {
                throw makeServerError({
                    message:
                        "The PBX could not be reached. Ask your administrator to check the PBX account.",
                    description:
                        "The PBX could not be reached. Ask your administrator to check the PBX account.",
                });
            };
            await clickInPanel("Billing", ".o_axivox_queue_connect");
            const billing = rowOf("Billing");
            assert.strictEqual(queueText("Billing", "status"), "not connected");
            assert.strictEqual(
                queueText("Billing", "error"),
                "The PBX could not be reached. Ask your administrator to check the PBX account."
            );
            assert.containsOnce(billing, ".o_axivox_queue_connect");
            assert.containsNone(target, ".modal", "no error dialog: the panel says it");
        }
    );

    QUnit.test("already logged in: the state is read again", async (assert) => {
        handlers["axivox.softphone/connect"] = () =>
            codeCallInfo("*620", "already_logged_in", BILLING);
        await start();
        await openPanel();
        handlers["axivox.softphone/get_state"] = () => {
            const state = softphoneState();
            Object.assign(state.queues[2], {
                connected: true,
                connected_since: "2024-03-04 08:00:00",
                connected_count: 1,
            });
            return state;
        };
        await click(rowOf("Billing"), ".o_axivox_queue_connect");
        await nextTick();
        await nextTick();
        assert.deepEqual(
            calls.map((c) => c.key),
            [
                "axivox.softphone/get_state",
                "axivox.softphone/connect",
                "axivox.softphone/get_state",
            ]
        );
        assert.strictEqual(queueText("Billing", "status"), "connected");
        assert.ok(
            target
                .querySelector(".o_axivox_softphone_feedback")
                .textContent.includes("already connected to Billing")
        );
        assert.strictEqual(badge(), "3");
    });

    QUnit.test(
        "no PBX event after a login: the fallback reads the state again",
        async (assert) => {
            handlers["axivox.softphone/connect"] = () =>
                codeCallInfo("*620", "logged_in", BILLING);
            await clickInPanel("Billing", ".o_axivox_queue_connect");
            assert.containsOnce(rowOf("Billing"), ".o_axivox_queue_pending_label");
            pendingTimer().fn();
            await nextTick();
            await nextTick();
            assert.strictEqual(callCount("axivox.softphone/get_state"), 2);
            assert.containsNone(rowOf("Billing"), ".o_axivox_queue_pending_label");
            assert.containsOnce(rowOf("Billing"), ".o_axivox_queue_connect");
        }
    );

    QUnit.test(
        "other agents' notifications only change how many agents are connected",
        async (assert) => {
            await start();
            await openPanel();
            await notify(
                memberState(
                    {member_id: 99, queue_id: 1, queue_name: "Sales", user_id: 42},
                    {
                        agent_name: "Luca Bianchi",
                        connected: true,
                        connected_count: 3,
                    }
                )
            );
            const sales = rowOf("Sales");
            assert.ok(countText(sales).includes("3 agents connected"));
            assert.strictEqual(queueText("Sales", "status"), "connected");
            assert.strictEqual(queueText("Billing", "status"), "not connected");
            assert.strictEqual(badge(), "2");
            assert.strictEqual(calls.length, 1, "no reload for somebody else's change");
        }
    );

    QUnit.test(
        "a manager's disconnect arrives live and updates the badge",
        async (assert) => {
            await start();
            assert.strictEqual(badge(), "2");
            await notify(salesDisconnected({source: "manager"}));
            assert.strictEqual(
                badge(),
                "1",
                "the badge follows even with the panel closed"
            );
        }
    );

    QUnit.test(
        "a new membership (unknown member) reads the state again",
        async (assert) => {
            await start();
            await notify(memberState({member_id: 77, queue_id: 9, queue_name: "New"}));
            await nextTick();
            assert.strictEqual(callCount("axivox.softphone/get_state"), 2);
        }
    );

    QUnit.test(
        "dial pad: keys, backspace, typing and pasting, call and hang up",
        async (assert) => {
            handlers["axivox.softphone/dial"] = ([number]) => {
                assert.step(`dial ${number}`);
                return callInfo(number, "ringing", {
                    state: "ringing",
                    message: "Ringing extension 103.",
                });
            };
            handlers["axivox.softphone/hang_up"] = ([callId]) => {
                assert.step(`hangup ${callId}`);
                return callInfo("103", "ringing", {state: "ended"});
            };
            await start();
            await openPanel();
            assert.containsN(target, ".o_axivox_dial_key", 12);
            const keys = [...target.querySelectorAll(".o_axivox_dial_key")].map(
                (k) => k.dataset.key
            );
            assert.deepEqual(keys, [
                "1",
                "2",
                "3",
                "4",
                "5",
                "6",
                "7",
                "8",
                "9",
                "*",
                "0",
                "#",
            ]);
            const input = target.querySelector(".o_axivox_dial_input");
            for (const key of ["1", "0", "4", "#"]) {
                await click(target, `.o_axivox_dial_key[data-key="${key}"]`);
            }
            assert.strictEqual(input.value, "104#");
            await click(target, ".o_axivox_dial_backspace");
            await click(target, ".o_axivox_dial_backspace");
            assert.strictEqual(input.value, "10");
            await editInput(target, ".o_axivox_dial_input", "+32 (2) 555-01.00");
            assert.strictEqual(
                input.value,
                "+3225550100",
                "pasted text keeps what can be dialed"
            );
            await dial("103");
            assert.verifySteps(["dial 103"]);
            assert.strictEqual(callStatus(), "Ringing 103...", "the number, once");
            await click(target, ".o_axivox_dial_hangup");
            await nextTick();
            assert.verifySteps(["hangup call-1"]);
            assert.strictEqual(callStatus(), "Call ended");
            await runTimers(CALL_SETTLE_DELAY);
            assert.containsNone(target, ".o_axivox_call_status", "then idle");
        }
    );

    QUnit.test(
        "keyboard: digits on the pad, Backspace, Enter dials, Escape folds",
        async (assert) => {
            handlers["axivox.softphone/dial"] = ([number]) => {
                assert.step(`dial ${number}`);
                return callInfo(number, "answered", {message: "Connected to 5#."});
            };
            await start();
            await openPanel();
            const pad = ".o_axivox_dial_pad";
            await triggerEvent(target, pad, "keydown", {key: "5"});
            await triggerEvent(target, pad, "keydown", {key: "7"});
            await triggerEvent(target, pad, "keydown", {key: "Backspace"});
            await triggerEvent(target, pad, "keydown", {key: "#"});
            await triggerEvent(target, pad, "keydown", {key: "a"});
            assert.strictEqual(
                target.querySelector(".o_axivox_dial_input").value,
                "5#"
            );
            await triggerEvent(target, pad, "keydown", {key: "Enter"});
            await nextTick();
            assert.verifySteps(["dial 5#"]);
            await triggerEvent(target, ".o_axivox_dial_input", "keydown", {
                key: "Escape",
            });
            assert.hasClass(
                target.querySelector(".o_axivox_softphone_panel"),
                "o_axivox_softphone_folded"
            );
            assert.containsNone(
                target,
                ".o_axivox_dial_pad",
                "folded: only the header shows"
            );
            await click(target, ".o_axivox_softphone_header");
            assert.containsOnce(
                target,
                ".o_axivox_dial_pad",
                "a click on the header unfolds"
            );
            await click(target, ".o_axivox_softphone_fold");
            assert.containsNone(target, ".o_axivox_dial_pad");
            await click(target, ".o_axivox_softphone_fold");
            assert.containsOnce(target, ".o_axivox_dial_pad");
        }
    );

    QUnit.test("a typed queue code shows its row as pending", async (assert) => {
        handlers["axivox.softphone/dial"] = ([number]) => callInfo(number, "logged_in");
        await start();
        await openPanel();
        await editInput(target, ".o_axivox_dial_input", "*620");
        await triggerEvent(target, ".o_axivox_dial_input", "keydown", {key: "Enter"});
        await nextTick();
        assert.strictEqual(queueText("Billing", "pending_label"), "connecting...");
    });

    QUnit.test("a typed code the PBX refuses is said clearly", async (assert) => {
        handlers["axivox.softphone/dial"] = ([number]) =>
            callInfo(number, "not_a_member", {
                message: "You are not an agent of the Returns queue.",
            });
        await start();
        await openPanel();
        await dial("*630");
        assert.strictEqual(feedback(), "You are not an agent of the Returns queue.");
        assert.strictEqual(callStatus(), "You are not an agent of the Returns queue.");
        assert.strictEqual(badge(), "2", "nothing changed");
    });

    QUnit.test(
        "the server's rule of what can be dialled is applied first",
        async (assert) => {
            patchWithCleanup(session, {axivox_dialable_pattern: "^[0-9]{1,4}$"});
            await start();
            await openPanel();
            await dial("12345");
            assert.strictEqual(
                feedback(),
                "12345 is not a number: use digits, * and # only."
            );
            assert.strictEqual(
                calls.length,
                1,
                "nothing dialed (only the state was read)"
            );
        }
    );

    QUnit.test("dial errors are clear and keep the number", async (assert) => {
        handlers["axivox.softphone/dial"] = () => {
            throw makeServerError({
                message:
                    "You have no PBX extension: ask an administrator to map your user to one.",
                description:
                    "You have no PBX extension: ask an administrator to map your user to one.",
            });
        };
        await start();
        await openPanel();
        await click(target, ".o_axivox_dial_call");
        assert.strictEqual(feedback(), "Type a number to call.");
        assert.strictEqual(calls.length, 1, "nothing dialed");
        await dial("0470123456");
        assert.strictEqual(
            feedback(),
            "You have no PBX extension: ask an administrator to map your user to one."
        );
        assert.strictEqual(
            target.querySelector(".o_axivox_dial_input").value,
            "0470123456"
        );
        assert.containsNone(target, ".o_axivox_call_status");
        await click(target, ".o_axivox_softphone_feedback .btn-close");
        assert.containsNone(target, ".o_axivox_softphone_feedback");
    });

    QUnit.test(
        "the state cannot be read: the panel says so and can retry",
        async (assert) => {
            let fail = true;
            handlers["axivox.softphone/get_state"] = () => {
                if (fail) {
                    throw makeServerError({
                        message: "boom",
                        description: "The server is down.",
                    });
                }
                return softphoneState();
            };
            await start();
            assert.strictEqual(badge(), null);
            await openPanel();
            assert.strictEqual(
                textOf(target, ".o_axivox_softphone_load_error span"),
                "The server is down."
            );
            fail = false;
            await click(target, ".o_axivox_softphone_retry");
            await nextTick();
            assert.containsNone(target, ".o_axivox_softphone_load_error");
            assert.containsN(target, ".o_axivox_queue_row", 3);
            assert.strictEqual(badge(), "2");
        }
    );

    QUnit.test("Disconnect from all my queues", async (assert) => {
        const state = softphoneState();
        state.queues[2].connected = true;
        state.queues[2].connected_since = "2024-03-04 08:30:00";
        handlers["axivox.softphone/get_state"] = () => state;
        handlers["axivox.softphone/disconnect_all"] = () => [
            codeCallInfo("#600", "logged_out", SALES),
            codeCallInfo("#620", "error", BILLING, {
                id: false,
                state: "error",
                message:
                    "The PBX could not be reached. Ask your administrator to check the PBX account.",
            }),
        ];
        await start();
        await openPanel();
        assert.strictEqual(badge(), "3");
        await click(target, ".o_axivox_disconnect_all");
        await nextTick();
        assert.strictEqual(queueText("Sales", "pending_label"), "disconnecting...");
        assert.strictEqual(queueText("Billing", "status"), "connected");
        assert.strictEqual(
            queueText("Billing", "error"),
            "The PBX could not be reached. Ask your administrator to check the PBX account."
        );
        assert.strictEqual(
            queueText("Support", "status"),
            "always connected",
            "static agents stay connected"
        );
        await notify(salesDisconnected());
        assert.strictEqual(queueText("Sales", "status"), "not connected");
        assert.strictEqual(badge(), "2");
    });

    QUnit.test(
        "a code call ends by itself: the PBX's message, ended, then idle",
        async (assert) => {
            const states = ["answered", "ended"];
            handlers["axivox.softphone/dial"] = ([number]) =>
                callInfo(number, "logged_in", {
                    message: "You are now logged in to the Billing queue.",
                });
            handlers["axivox.softphone/call_state"] = ([callId]) => {
                assert.step(`state ${callId}`);
                return callInfo("*620", "logged_in", {state: states.shift()});
            };
            await start();
            await openPanel();
            await dial("*620");
            assert.strictEqual(
                callStatus(),
                "You are now logged in to the Billing queue."
            );
            assert.notOk(target.querySelector(".o_axivox_dial_hangup").disabled);
            assert.strictEqual(
                await runTimers(CALL_POLL_INTERVAL),
                1,
                "the state is read a second later"
            );
            assert.verifySteps(["state call-1"]);
            assert.strictEqual(
                callStatus(),
                "You are now logged in to the Billing queue."
            );
            await runTimers(CALL_POLL_INTERVAL);
            assert.verifySteps(["state call-1"]);
            assert.strictEqual(callStatus(), "Call ended", "the PBX hung up");
            await editInput(target, ".o_axivox_dial_input", "");
            assert.ok(
                target.querySelector(".o_axivox_dial_hangup").disabled,
                "nothing to hang up"
            );
            assert.strictEqual(await runTimers(CALL_POLL_INTERVAL), 0, "no more reads");
            await runTimers(CALL_SETTLE_DELAY);
            assert.containsNone(target, ".o_axivox_call_status", "idle again");
            assert.verifySteps([]);
        }
    );

    QUnit.test(
        "an ordinary call: ringing, answered, ended, as the PBX says",
        async (assert) => {
            const states = ["ringing", "answered", "answered", "ended"];
            handlers["axivox.softphone/dial"] = ([number]) =>
                callInfo(number, "ringing", {
                    state: "ringing",
                    message: "Ringing extension 103.",
                });
            handlers["axivox.softphone/call_state"] = () =>
                callInfo("103", "ringing", {state: states.shift()});
            await start();
            await openPanel();
            await dial("103");
            assert.strictEqual(callStatus(), "Ringing 103...");
            await runTimers(CALL_POLL_INTERVAL);
            assert.strictEqual(callStatus(), "Ringing 103...");
            await runTimers(CALL_POLL_INTERVAL);
            assert.strictEqual(callStatus(), "In call with 103");
            await runTimers(CALL_POLL_INTERVAL);
            assert.strictEqual(callStatus(), "In call with 103");
            await runTimers(CALL_POLL_INTERVAL);
            assert.strictEqual(callStatus(), "Call ended", "the other end hung up");
            await runTimers(CALL_SETTLE_DELAY);
            assert.strictEqual(callStatus(), null);
            assert.strictEqual(callCount("axivox.softphone/call_state"), 4);
        }
    );

    QUnit.test(
        "the call poll is bounded: it stops after repeated failures",
        async (assert) => {
            handlers["axivox.softphone/dial"] = ([number]) =>
                callInfo(number, "answered");
            handlers["axivox.softphone/call_state"] = () => {
                throw makeServerError({message: "The PBX could not be reached."});
            };
            await start();
            await openPanel();
            await dial("0470");
            for (let i = 0; i < CALL_POLL_MAX_ERRORS + 2; i++) {
                await runTimers(CALL_POLL_INTERVAL);
            }
            assert.strictEqual(
                callCount("axivox.softphone/call_state"),
                CALL_POLL_MAX_ERRORS
            );
            assert.strictEqual(
                callStatus(),
                "In call with 0470",
                "the call stays shown"
            );
            assert.notOk(
                target.querySelector(".o_axivox_dial_hangup").disabled,
                "and can be hung up"
            );
            assert.containsNone(target, ".modal");
        }
    );

    QUnit.test("cleanNumber keeps digits, *, # and a leading +", async (assert) => {
        assert.strictEqual(cleanNumber(" +32 (2) 555-01.00 "), "+3225550100");
        assert.strictEqual(cleanNumber("*600"), "*600");
        assert.strictEqual(cleanNumber("tel:0470/12.34.56"), "0470123456");
        assert.strictEqual(cleanNumber(""), "");
    });
});
