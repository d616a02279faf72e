/** @odoo-module **/

import {
    CALLBACKS_NOTIFICATION,
    CALLER_CARD_NOTIFICATION,
    ageText,
    contactCentreService,
} from "@voip_axivox_queue/softphone_contact/contact_centre_service";
import {
    UID,
    mountSoftphone,
    notifyBus,
    openSoftphone,
    setupSoftphone,
    textOf,
} from "./axivox_test_utils";
import {click, editInput, getFixture, nextTick} from "@web/../tests/helpers/utils";
import {browser} from "@web/core/browser/browser";
import {foldedSectionsKey} from "@voip_axivox_queue/softphone/softphone_service";
import {registry} from "@web/core/registry";

const serviceRegistry = registry.category("services");

function minutesAgo(minutes) {
    return new Date(Date.now() - minutes * 60000)
        .toISOString()
        .slice(0, 19)
        .replace("T", " ");
}

function callbacks() {
    return {
        count: 2,
        callbacks: [
            {
                id: 31,
                number: "+3225550100",
                partner_id: 5,
                partner_name: "Alice Dubois",
                queue_id: 1,
                queue_name: "Sales",
                call_time: minutesAgo(12),
                wait_time: 40,
                attempts: 2,
                state: "open",
                claimed_by_id: false,
                claimed_by_name: false,
            },
            {
                id: 32,
                number: "+3225557777",
                partner_id: false,
                partner_name: false,
                queue_id: 1,
                queue_name: "Sales",
                call_time: minutesAgo(3),
                wait_time: 10,
                attempts: 1,
                state: "claimed",
                claimed_by_id: 99,
                claimed_by_name: "Luca",
            },
        ],
    };
}

let target = null;
let calls = [];
let handlers = {};
let busCallbacks = {};
let actions = [];

function notify(type, payload) {
    return notifyBus(busCallbacks, type, payload);
}

/** The bus brings the caller cards of queue calls: Sales, no history unless given. */
function notifyCards(...cards) {
    return notify(CALLER_CARD_NOTIFICATION, {
        ended: [],
        cards: cards.map((card) => ({queue_name: "Sales", history: [], ...card})),
    });
}

/** The text of ``part`` (".o_axivox_callback_<part>") in a callback's row. */
function callbackText(row, part) {
    return textOf(row, `.o_axivox_callback_${part}`);
}

async function start() {
    const env = await mountSoftphone(target, calls, handlers);
    await openSoftphone(target);
    return env;
}

function rows() {
    return [...target.querySelectorAll(".o_axivox_callback_row")];
}

QUnit.module("contact centre in the softphone", (hooks) => {
    hooks.beforeEach(() => {
        target = getFixture();
        ({calls, busCallbacks} = setupSoftphone());
        actions = [];
        handlers = {
            "axivox.softphone/get_state": () => ({
                extension: "102",
                queues: [],
                connected_queue_count: 0,
            }),
            "axivox.softphone/get_callbacks": () => callbacks(),
        };
        serviceRegistry.add("action", {
            start() {
                return {doAction: (action) => actions.push(action)};
            },
        });
        serviceRegistry.add("voip_axivox_queue.contact_centre", contactCentreService);
    });

    QUnit.test("ages", async (assert) => {
        const now = Date.parse("2024-03-05T12:00:00Z");
        assert.strictEqual(ageText("2024-03-05 11:48:00", now), "12 min");
        assert.strictEqual(ageText("2024-03-05 09:55:00", now), "2 h 05");
        assert.strictEqual(ageText("2024-03-04 12:01:00", now), "23 h 59");
        assert.strictEqual(ageText("2024-03-04 08:00:00", now), "1 d 4 h");
        assert.strictEqual(ageText("2024-03-01 12:00:00", now), "4 d 0 h");
    });

    QUnit.test(
        "the callbacks section: count, callers, queue, age, attempts, claims",
        async (assert) => {
            await start();
            assert.strictEqual(textOf(target, ".o_axivox_callback_count"), "2");
            const [alice, unknown] = rows();
            assert.strictEqual(callbackText(alice, "caller"), "Alice Dubois");
            assert.strictEqual(callbackText(alice, "queue"), "Sales");
            assert.strictEqual(callbackText(alice, "age"), "12 min");
            assert.strictEqual(callbackText(alice, "attempts"), "2 attempts");
            assert.notOk(alice.querySelector(".o_axivox_callback_call").disabled);
            assert.strictEqual(callbackText(unknown, "caller"), "+3225557777");
            assert.strictEqual(callbackText(unknown, "claimed_by"), "claimed by Luca");
            assert.ok(
                unknown.querySelector(".o_axivox_callback_call").disabled,
                "claimed by another agent"
            );
        }
    );

    QUnit.test(
        "the bus says a callback changed: the list is read again",
        async (assert) => {
            await start();
            const before = calls.filter((c) => c.key.endsWith("get_callbacks")).length;
            handlers["axivox.softphone/get_callbacks"] = () => ({
                count: 1,
                callbacks: callbacks().callbacks.slice(1),
            });
            await notify(CALLBACKS_NOTIFICATION, {queue_ids: [1]});
            await nextTick();
            assert.strictEqual(
                calls.filter((c) => c.key.endsWith("get_callbacks")).length,
                before + 1
            );
            assert.strictEqual(textOf(target, ".o_axivox_callback_count"), "1");
            assert.strictEqual(rows().length, 1);
        }
    );

    QUnit.test(
        "Call back claims and calls; the card of the caller shows",
        async (assert) => {
            handlers["axivox.softphone/call_back"] = (ids) => {
                assert.deepEqual(ids, [31]);
                return {
                    id: "call-9",
                    from: "102",
                    to: "+3225550100",
                    state: "answered",
                    outcome: "answered",
                    message: null,
                    callback_id: 31,
                };
            };
            handlers["axivox.softphone/caller_card"] = ([number]) => {
                assert.strictEqual(number, "+3225550100");
                return {
                    call_id: false,
                    number,
                    queue_name: "",
                    history: [],
                    partner: {
                        id: 5,
                        name: "Alice Dubois",
                        company_id: 6,
                        company_name: "Acme",
                    },
                };
            };
            await start();
            await click(rows()[0], ".o_axivox_callback_call");
            await nextTick();
            await nextTick();
            assert.ok(calls.some((c) => c.key === "axivox.softphone/call_back"));
            assert.strictEqual(
                target.querySelector(".o_axivox_call_status").textContent.trim(),
                "In call with +3225550100"
            );
            assert.strictEqual(textOf(target, ".o_axivox_caller_name"), "Alice Dubois");
        }
    );

    QUnit.test(
        "the caller card of a queue call: contact, company, history, until it ends",
        async (assert) => {
            await start();
            assert.containsNone(target, ".o_axivox_caller_card");
            await notifyCards({
                call_id: "c1",
                number: "+3225550100",
                partner: {
                    id: 5,
                    name: "Alice Dubois",
                    company_id: 6,
                    company_name: "Acme",
                },
                history: [
                    {
                        id: 1,
                        call_id: "c0",
                        start_time: "2024-03-04 09:00:00",
                        outcome: "abandoned",
                        outcome_label: "Abandoned",
                        queue_name: "Sales",
                        agent_name: "",
                        wait_time: 30,
                        talk_time: 0,
                    },
                ],
            });
            assert.containsOnce(target, ".o_axivox_caller_card");
            assert.strictEqual(textOf(target, ".o_axivox_caller_name"), "Alice Dubois");
            assert.strictEqual(
                target.querySelector(".o_axivox_caller_company").textContent.trim(),
                "Acme"
            );
            assert.strictEqual(textOf(target, ".o_axivox_caller_queue"), "Sales");
            assert.containsOnce(target, ".o_axivox_caller_history_row");
            assert.strictEqual(textOf(target, ".o_axivox_caller_outcome"), "Abandoned");
            assert.containsNone(target, ".o_axivox_caller_create");
            await click(target, ".o_axivox_caller_name a");
            assert.deepEqual(
                [actions[0].res_model, actions[0].res_id],
                ["res.partner", 5]
            );
            await click(target, ".o_axivox_caller_company a");
            assert.strictEqual(actions[1].res_id, 6);
            // Another call's end changes nothing; this call's end removes the card.
            await notify(CALLER_CARD_NOTIFICATION, {cards: [], ended: ["other"]});
            assert.containsOnce(target, ".o_axivox_caller_card");
            await notify(CALLER_CARD_NOTIFICATION, {cards: [], ended: ["c1"]});
            assert.containsNone(target, ".o_axivox_caller_card");
        }
    );

    QUnit.test(
        "a queue caller connected while the card of a dialled number is read: hers stays",
        async (assert) => {
            let answer = null;
            handlers["axivox.softphone/caller_card"] = () =>
                new Promise((resolve) => {
                    answer = resolve;
                });
            const env = await start();
            const centre = env.services["voip_axivox_queue.contact_centre"];
            const reading = centre.showCardFor("0471", "outgoing");
            await nextTick();
            await notifyCards({
                call_id: "q1",
                number: "+3225550100",
                partner: {id: 5, name: "Alice Dubois"},
            });
            answer({call_id: false, number: "0471", partner: false, history: []});
            await reading;
            await nextTick();
            assert.strictEqual(
                textOf(target, ".o_axivox_caller_name"),
                "Alice Dubois",
                "the late answer for the dialled number does not replace the queue caller"
            );
            assert.containsNone(target, ".o_axivox_caller_unknown");
        }
    );

    QUnit.test(
        "an unknown caller: Create contact, prefilled with the number",
        async (assert) => {
            await start();
            await notifyCards({call_id: "c2", number: "+3225559999", partner: false});
            assert.strictEqual(
                textOf(target, ".o_axivox_caller_unknown"),
                "Unknown caller"
            );
            await click(target, ".o_axivox_caller_create");
            assert.strictEqual(actions[0].res_model, "res.partner");
            assert.deepEqual(actions[0].context, {default_phone: "+3225559999"});
        }
    );

    QUnit.test(
        "a call placed from the pad shows the card of the number",
        async (assert) => {
            handlers["axivox.softphone/dial"] = ([number]) => ({
                id: "call-3",
                from: "102",
                to: number,
                state: "ringing",
                outcome: "ringing",
                message: null,
            });
            handlers["axivox.softphone/caller_card"] = ([number]) => ({
                call_id: false,
                number,
                queue_name: "",
                history: [],
                partner: false,
            });
            await start();
            await editInput(target, ".o_axivox_dial_input", "+3225551234");
            await click(target, ".o_axivox_dial_call");
            await nextTick();
            await nextTick();
            assert.ok(calls.some((c) => c.key === "axivox.softphone/caller_card"));
            assert.containsOnce(target, ".o_axivox_caller_card");
            assert.strictEqual(UID, 7);
        }
    );

    QUnit.test(
        "a queue code dialed from the pad (even another queue's) shows no caller card",
        async (assert) => {
            handlers["axivox.softphone/dial"] = ([number]) => ({
                id: "call-4",
                from: "102",
                to: number,
                state: "ringing",
                outcome: "ringing",
                message: null,
            });
            await start();
            await editInput(target, ".o_axivox_dial_input", "*610");
            await click(target, ".o_axivox_dial_call");
            await nextTick();
            await nextTick();
            assert.notOk(calls.some((c) => c.key === "axivox.softphone/caller_card"));
            assert.containsNone(target, ".o_axivox_caller_card");
        }
    );
    QUnit.test(
        "the panel's sections fold by their header; each user's choice is remembered",
        async (assert) => {
            handlers["axivox.softphone/get_state"] = () => ({
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
                        connected_since: false,
                        connected_count: 1,
                    },
                ],
                connected_queue_count: 1,
            });
            // Another user folded everything in this browser: not this user's choice.
            browser.localStorage.setItem(
                foldedSectionsKey(UID + 1),
                JSON.stringify({
                    caller: true,
                    dialpad: true,
                    queues: true,
                    callbacks: true,
                })
            );
            await start();
            await notifyCards({call_id: "c1", number: "+3225557777", partner: false});
            // All unfolded at first.
            assert.containsN(target, ".o_axivox_dial_key", 12);
            assert.containsOnce(target, ".o_axivox_queue_row");
            assert.containsN(target, ".o_axivox_callback_row", 2);
            assert.containsOnce(target, ".o_axivox_caller_create");
            // Each header folds its section; what matters most stays in view.
            await click(target, ".o_axivox_dial_title");
            assert.containsNone(target, ".o_axivox_dial_key");
            assert.containsOnce(target, ".o_axivox_dial_input", "the number stays");
            assert.containsOnce(target, ".o_axivox_dial_call", "calling stays");
            assert.containsOnce(target, ".o_axivox_dial_hangup", "hanging up stays");
            await click(target, ".o_axivox_queue_list_title");
            assert.containsNone(target, ".o_axivox_queue_row");
            assert.containsNone(target, ".o_axivox_disconnect_all");
            assert.strictEqual(
                textOf(target, ".o_axivox_queue_list_badge"),
                "1",
                "folded, the queues still say how many are connected"
            );
            await click(target, ".o_axivox_callback_title");
            assert.containsNone(target, ".o_axivox_callback_row");
            assert.strictEqual(textOf(target, ".o_axivox_callback_count"), "2");
            await click(target, ".o_axivox_caller_fold");
            assert.containsNone(target, ".o_axivox_caller_create");
            assert.ok(
                textOf(target, ".o_axivox_caller_number").includes("+3225557777"),
                "folded, the card still says who calls"
            );
            assert.deepEqual(
                JSON.parse(browser.localStorage.getItem(foldedSectionsKey(UID))),
                {caller: true, dialpad: true, queues: true, callbacks: true}
            );
            // The next page (the softphone started again): still folded; a click on a
            // header unfolds it, and that is remembered too.
            const again = document.createElement("div");
            target.appendChild(again);
            await mountSoftphone(again, calls, handlers);
            await openSoftphone(again);
            assert.containsNone(again, ".o_axivox_dial_key");
            assert.containsNone(again, ".o_axivox_queue_row");
            assert.containsNone(again, ".o_axivox_callback_row");
            await click(again, ".o_axivox_dial_title");
            assert.containsN(again, ".o_axivox_dial_key", 12);
            assert.deepEqual(
                JSON.parse(browser.localStorage.getItem(foldedSectionsKey(UID))),
                {caller: true, dialpad: false, queues: true, callbacks: true}
            );
        }
    );

    QUnit.test(
        "an unreadable remembered fold state: every section unfolded",
        async (assert) => {
            browser.localStorage.setItem(foldedSectionsKey(UID), "{not json");
            await start();
            assert.containsN(target, ".o_axivox_dial_key", 12);
            assert.containsN(target, ".o_axivox_callback_row", 2);
        }
    );
});
