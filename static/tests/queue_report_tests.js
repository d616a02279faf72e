/** @odoo-module **/

import {
    FILTERS_KEY,
    REPORT_DEBOUNCE,
} from "@voip_axivox_queue/queue_report/queue_report_page";
import {
    click,
    editInput,
    getFixture,
    mockDownload,
    nextTick,
    patchWithCleanup,
} from "@web/../tests/helpers/utils";
import {createWebClient, doAction} from "@web/../tests/webclient/helpers";
import {browser} from "@web/core/browser/browser";

const TYPES = [
    ["ABANDON", "The caller quit"],
    ["ADDMEMBER", "An agent is connecting"],
    ["REMOVEMEMBER", "An agent is disconnecting"],
    ["COMPLETEAGENT", "The call was terminated (agent hangs up)"],
    ["COMPLETECALLER", "The call was terminated (caller hangs up)"],
    ["CONNECT", "The caller is connected to an agent."],
    ["ENTERQUEUE", "Someone is entering the queue"],
    ["EXITEMPTY", "The caller exits the queue (no agent is connected)"],
    ["EXITWITHTIMEOUT", "The caller exits the queue (timeout)"],
    ["RINGNOANSWER", "No one is answering"],
    ["RINGCANCELED", "No one is answering, the caller hangs up"],
    ["ATTENDEDTRANSFER", "Transfer"],
    ["BLINDTRANSFER", "Blind Transfer"],
];

let target = null;
// The filters of every search_page call
let searches = [];
let storage = {};

function line(id, type, extra = {}) {
    return {
        id,
        event_time: "2026-03-02 09:00:00",
        queue_id: [1, "Sales"],
        queue_name: "Sales",
        event_type: type,
        call_id: "c1",
        caller_number: "+32470000001",
        agent_user_id: false,
        agent_extension: false,
        wait_time: 5,
        talk_time: 0,
        ...extra,
    };
}

function reportAction(context) {
    return {
        type: "ir.actions.client",
        tag: "voip_axivox_queue.report_page",
        name: "Queue Report",
        context,
    };
}

async function openReport(context = {default_queue_ids: [1]}) {
    const webClient = await createWebClient({
        serverData: {models: {}, views: {}},
        async mockRPC(route, args) {
            if (args.method === "get_filter_info") {
                return {event_types: TYPES, queues: [[1, "Sales"]]};
            }
            if (args.method === "search_page") {
                const filters = args.args[0];
                searches.push(filters);
                const records = filters.event_types.length
                    ? [line(1, "ENTERQUEUE"), line(2, "CONNECT")]
                    : [];
                return {
                    records,
                    length: records.length,
                    offset: 0,
                    limit: 80,
                    from: "2026-02-25 23:00:00",
                    to: "2026-03-04 22:59:59",
                    tz: "Europe/Brussels",
                };
            }
        },
    });
    await doAction(webClient, reportAction(context));
    await nextTick();
    return webClient;
}

async function afterDebounce() {
    await new Promise((resolve) => setTimeout(resolve, REPORT_DEBOUNCE + 50));
    await nextTick();
}

QUnit.module("queue report page", (hooks) => {
    hooks.beforeEach(() => {
        target = getFixture();
        searches = [];
        storage = {};
        patchWithCleanup(browser, {
            localStorage: {
                getItem: (key) => (key in storage ? storage[key] : null),
                setItem: (key, value) => {
                    storage[key] = String(value);
                },
                removeItem: (key) => {
                    delete storage[key];
                },
            },
        });
    });

    QUnit.test(
        "filters beside the results: presets, 13 types, call, caller",
        async (assert) => {
            await openReport();
            assert.containsOnce(target, ".o_axivox_report_filters");
            assert.containsOnce(target, ".o_axivox_report_results");
            assert.deepEqual(
                [...target.querySelectorAll(".o_axivox_report_periods button")].map(
                    (b) => b.textContent
                ),
                [
                    "Today",
                    "Yesterday",
                    "This week",
                    "Last 7 days",
                    "This month",
                    "From ... to",
                ]
            );
            assert.containsN(
                target,
                ".o_axivox_report_types input:checked",
                13,
                "every type checked"
            );
            assert.containsN(target, ".o_axivox_report_row", 2);
            assert.strictEqual(searches.length, 1);
            assert.deepEqual(
                searches[0].queue_ids,
                [1],
                "the queue of the Report button"
            );
            assert.strictEqual(searches[0].period, "last_7_days");
            // The period in the time zone the server counted it in, whatever the
            // browser's: whole days, without a shift.
            assert.strictEqual(
                target
                    .querySelector(".o_axivox_report_period_shown")
                    .textContent.trim(),
                "02/26/2026 – 03/04/2026"
            );
            // A preset: the results change at once, the filters stay.
            await click(target, ".o_axivox_report_periods button[data-period='today']");
            await nextTick();
            assert.strictEqual(searches.at(-1).period, "today");
            assert.hasClass(
                target.querySelector(
                    ".o_axivox_report_periods button[data-period='today']"
                ),
                "active"
            );
            // Uncheck all / check all.
            await click(target, ".o_axivox_report_uncheck_all");
            await nextTick();
            assert.containsNone(target, ".o_axivox_report_types input:checked");
            assert.deepEqual(searches.at(-1).event_types, []);
            assert.containsOnce(target, ".o_axivox_report_no_type");
            await click(target, ".o_axivox_report_check_all");
            await nextTick();
            assert.strictEqual(searches.at(-1).event_types.length, 13);
            // One type, a call ID, a caller number: debounced, no reopening.
            await click(target, ".o_axivox_report_types input[data-type='ABANDON']");
            await editInput(target, ".o_axivox_report_call_id", "c1");
            await editInput(target, ".o_axivox_report_caller", "+3247");
            const before = searches.length;
            await afterDebounce();
            assert.strictEqual(
                searches.length,
                before + 1,
                "one search for the three changes"
            );
            assert.deepEqual(
                [
                    searches.at(-1).call_id,
                    searches.at(-1).caller_number,
                    searches.at(-1).event_types.includes("ABANDON"),
                ],
                ["c1", "+3247", false]
            );
            assert.containsNone(target, ".modal", "a page, not a dialog");
        }
    );

    QUnit.test(
        "From ... to starts from the period shown; both are needed",
        async (assert) => {
            await openReport();
            await click(
                target,
                ".o_axivox_report_periods button[data-period='custom']"
            );
            await nextTick();
            assert.containsOnce(target, ".o_axivox_report_from");
            const last = searches.at(-1);
            assert.deepEqual(
                [last.period, last.date_from, last.date_to],
                ["custom", "2026-02-25 23:00:00", "2026-03-04 22:59:59"]
            );
        }
    );

    QUnit.test("Export to CSV exports exactly the filters shown", async (assert) => {
        mockDownload(({url, data}) => {
            assert.step(url);
            const filters = JSON.parse(data.filters);
            assert.deepEqual(
                filters,
                searches.at(-1),
                "the filters of the results shown"
            );
            return Promise.resolve();
        });
        await openReport();
        await click(target, ".o_axivox_report_periods button[data-period='yesterday']");
        await nextTick();
        await click(target, ".o_axivox_report_export");
        await nextTick();
        assert.verifySteps(["/voip_axivox_queue/report/page.csv"]);
    });

    QUnit.test("the filters are kept for the next visit", async (assert) => {
        const webClient = await openReport();
        await click(
            target,
            ".o_axivox_report_periods button[data-period='this_month']"
        );
        await click(target, ".o_axivox_report_uncheck_all");
        await click(target, ".o_axivox_report_types input[data-type='CONNECT']");
        await afterDebounce();
        const key = Object.keys(storage).find((k) => k.startsWith(FILTERS_KEY));
        assert.ok(key);
        searches = [];
        await doAction(webClient, reportAction({}), {clearBreadcrumbs: true});
        await nextTick();
        assert.strictEqual(searches[0].period, "this_month");
        assert.deepEqual(searches[0].event_types, ["CONNECT"]);
        assert.containsOnce(target, ".o_axivox_report_types input:checked");
    });
});
