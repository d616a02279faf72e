/** @odoo-module **/

import {
    BUS_DELAY,
    POLL_INTERVAL,
    TICK_INTERVAL,
    WALLBOARD_NOTIFICATION,
    Wallboard,
    clock,
} from "@voip_axivox_queue/wallboard/wallboard";
import {addFakeBus, noop} from "./axivox_test_utils";
import {
    click,
    getFixture,
    mount,
    nextTick,
    patchWithCleanup,
} from "@web/../tests/helpers/utils";
import {browser} from "@web/core/browser/browser";
import {makeTestEnv} from "@web/../tests/helpers/mock_env";

let target = null;
let reads = [];
let busCallbacks = {};
let intervals = [];
let timeouts = [];
let now = 0;
let data = null;

function queue(values) {
    return {
        id: 1,
        name: "Sales",
        waiting: 2,
        longest_wait_since: 1000,
        agents_connected: 3,
        agents_on_call: 1,
        agents_free: 2,
        offered: 40,
        answered: 35,
        abandoned: 3,
        service_level: 0.8,
        abandon_rate: 0.075,
        callbacks: 2,
        oldest_callback: false,
        ...values,
    };
}

async function start() {
    const env = await makeTestEnv({
        async mockRPC(route, args) {
            if (args.method === "axivox_wallboard_data") {
                reads.push(args);
                return JSON.parse(JSON.stringify(data));
            }
        },
    });
    await mount(Wallboard, target, {env, props: {}});
    await nextTick();
}

function text(selector, index = 0) {
    return target.querySelectorAll(selector)[index].textContent.trim();
}

QUnit.module("wallboard", (hooks) => {
    hooks.beforeEach(() => {
        target = getFixture();
        reads = [];
        busCallbacks = {};
        intervals = [];
        timeouts = [];
        // The browser's clock, ms
        now = 1070 * 1000;
        data = {
            server_time: 1070,
            queues: [
                queue({}),
                queue({
                    id: 2,
                    name: "Support",
                    waiting: 0,
                    longest_wait_since: false,
                    callbacks: 0,
                }),
            ],
        };
        patchWithCleanup(Date, {now: () => now});
        patchWithCleanup(browser, {
            setInterval: (fn, delay) => intervals.push({fn, delay}),
            clearInterval: noop,
            setTimeout: (fn, delay) => timeouts.push({fn, delay}),
            clearTimeout: noop,
            localStorage: {
                store: {},
                getItem(key) {
                    return this.store[key] || null;
                },
                setItem(key, value) {
                    this.store[key] = value;
                },
            },
        });
        addFakeBus(busCallbacks);
    });

    QUnit.test("clock", async (assert) => {
        assert.strictEqual(clock(0), "0:00");
        assert.strictEqual(clock(75), "1:15");
        assert.strictEqual(clock(3725), "1:02:05");
    });

    QUnit.test(
        "one read shows every queue: live, agents, today, callbacks",
        async (assert) => {
            await start();
            assert.strictEqual(reads.length, 1);
            assert.containsN(target, ".o_axivox_wallboard_queue", 2);
            assert.strictEqual(text(".o_axivox_wallboard_name"), "Sales");
            assert.strictEqual(text(".o_axivox_wallboard_waiting"), "2");
            assert.strictEqual(text(".o_axivox_wallboard_longest"), "1:10");
            assert.strictEqual(text(".o_axivox_wallboard_connected"), "3");
            assert.strictEqual(text(".o_axivox_wallboard_on_call"), "1");
            assert.strictEqual(text(".o_axivox_wallboard_free"), "2");
            assert.strictEqual(text(".o_axivox_wallboard_offered"), "40");
            assert.strictEqual(text(".o_axivox_wallboard_sl"), "80 %");
            assert.strictEqual(text(".o_axivox_wallboard_ar"), "8 %");
            assert.strictEqual(text(".o_axivox_wallboard_callbacks"), "2");
            assert.strictEqual(text(".o_axivox_wallboard_longest", 1), "0:00");
        }
    );

    QUnit.test(
        "a full-screen button puts the wallboard alone on the screen",
        async (assert) => {
            await start();
            const wallboard = target.querySelector(".o_axivox_wallboard");
            const button = target.querySelector(".o_axivox_wallboard_fullscreen");
            assert.strictEqual(button.textContent.trim(), "Full screen");
            const calls = [];
            wallboard.requestFullscreen = () => {
                calls.push("request");
                return Promise.resolve();
            };
            await click(button);
            assert.deepEqual(
                calls,
                ["request"],
                "the wallboard itself goes full screen"
            );
        }
    );

    QUnit.test(
        "waits tick in the browser; the poll is never more often than 30 s",
        async (assert) => {
            await start();
            const tick = intervals.find((i) => i.delay === TICK_INTERVAL);
            assert.ok(tick, "a one-second tick");
            assert.deepEqual(
                intervals.filter((i) => i.delay !== TICK_INTERVAL).map((i) => i.delay),
                [POLL_INTERVAL]
            );
            assert.ok(POLL_INTERVAL >= 30000);
            now += 5000;
            tick.fn();
            await nextTick();
            assert.strictEqual(text(".o_axivox_wallboard_longest"), "1:15");
            assert.strictEqual(reads.length, 1, "ticking reads nothing");
        }
    );

    QUnit.test("the bus: notifications are read in one go, at once", async (assert) => {
        await start();
        data.queues[0].waiting = 5;
        for (const subscriber of busCallbacks[WALLBOARD_NOTIFICATION]) {
            subscriber({queue_ids: [1]});
            subscriber({queue_ids: [1]});
        }
        assert.strictEqual(timeouts.length, 1, "two notifications, one read");
        assert.ok(timeouts[0].delay <= BUS_DELAY && BUS_DELAY < 1000);
        timeouts[0].fn();
        await nextTick();
        await nextTick();
        assert.strictEqual(reads.length, 2);
        assert.strictEqual(text(".o_axivox_wallboard_waiting"), "5");
    });

    QUnit.test("the queues shown can be chosen", async (assert) => {
        await start();
        await click(target, ".o_axivox_wallboard_choose");
        await click(target, ".o_axivox_wallboard_chooser input[data-queue-id='2']");
        await nextTick();
        await nextTick();
        assert.containsOnce(target, ".o_axivox_wallboard_queue");
        assert.strictEqual(
            browser.localStorage.getItem("voip_axivox_queue.wallboard.queue_ids"),
            "[1]"
        );
    });
});
