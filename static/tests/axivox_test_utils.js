/** @odoo-module **/

// The helpers the QUnit tests of voip_axivox_queue share: a mock of the server methods
// (call_kw) that records every call, a fake bus service, the softphone mounted as in the
// web client (its systray item and its panel), and readers of the panel.

import {Component, xml} from "@odoo/owl";
import {click, mount, nextTick, patchWithCleanup} from "@web/../tests/helpers/utils";
import {SoftphoneContainer} from "@voip_axivox_queue/softphone/softphone_panel";
import {SoftphoneSystrayItem} from "@voip_axivox_queue/softphone/softphone_systray_item";
import {makeTestEnv} from "@web/../tests/helpers/mock_env";
import {registry} from "@web/core/registry";
import {session} from "@web/session";
import {softphoneService} from "@voip_axivox_queue/softphone/softphone_service";

/** The user of web's test session. */
export const UID = 7;

/** What the fake services do when a test does not follow a call: nothing. */
export const noop = () => undefined;

/**
 * A mockRPC for the server methods: each call is pushed on ``calls`` as
 * ``{key: "model/method", args}`` and answered by ``handlers[key](args)``; a call no
 * handler expects fails the test.
 */
export function mockCallKw(calls, handlers) {
    return async (route, args) => {
        if (!route.startsWith("/web/dataset/call_kw/")) {
            return undefined;
        }
        const key = `${args.model}/${args.method}`;
        calls.push({key, args: args.args});
        if (handlers[key]) {
            return handlers[key](args.args);
        }
        throw new Error(`unexpected call ${key}`);
    };
}

/**
 * Register a fake ``bus_service``: ``subscribe(type, callback)`` adds the callback to
 * ``callbacks[type]`` (see notifyBus); the rest does nothing.
 */
export function addFakeBus(callbacks = {}) {
    registry.category("services").add(
        "bus_service",
        {
            start() {
                return {
                    subscribe(type, callback) {
                        (callbacks[type] = callbacks[type] || []).push(callback);
                    },
                    unsubscribe: noop,
                    start: noop,
                    addChannel: noop,
                    deleteChannel: noop,
                    addEventListener: noop,
                    removeEventListener: noop,
                };
            },
        },
        {force: true}
    );
    return callbacks;
}

/** The bus brings a notification of ``type``: the subscribed callbacks get ``payload``. */
export async function notifyBus(callbacks, type, payload) {
    for (const subscriber of callbacks[type] || []) {
        subscriber(payload);
    }
    await nextTick();
}

/**
 * What every softphone test starts with: a user with extension 102, the fake bus and the
 * softphone service. Returns a new list for the server ``calls`` (see mockCallKw) and the
 * bus subscriptions, ``busCallbacks`` (see notifyBus).
 */
export function setupSoftphone() {
    patchWithCleanup(session, {
        axivox_extension: "102",
        axivox_dialable_pattern: "^\\+?[0-9*#]{1,20}$",
    });
    const busCallbacks = addFakeBus();
    registry.category("services").add("voip_axivox_queue.softphone", softphoneService);
    return {calls: [], busCallbacks};
}

/** The softphone as the web client shows it: the systray item and the panel. */
export class SoftphoneWebclient extends Component {
    static template = xml`<div class="o_test_webclient"><SoftphoneSystrayItem/><SoftphoneContainer/></div>`;
    static components = {SoftphoneSystrayItem, SoftphoneContainer};
    static props = {};
}

/** Mount the softphone in ``target``, its server methods answered by ``handlers``. */
export async function mountSoftphone(target, calls, handlers) {
    const env = await makeTestEnv({mockRPC: mockCallKw(calls, handlers)});
    await mount(SoftphoneWebclient, target, {env});
    await nextTick();
    return env;
}

/** A click on the phone icon of the systray. */
export async function openSoftphone(target) {
    await click(target, ".o_axivox_softphone_toggle");
    await nextTick();
}

/** The softphone's row of queue ``name``. */
export function queueRow(target, name) {
    return [...target.querySelectorAll(".o_axivox_queue_row")].find(
        (row) => row.querySelector(".o_axivox_queue_name").textContent === name
    );
}

/** The text of the element ``selector`` in ``el``. */
export function textOf(el, selector) {
    return el.querySelector(selector).textContent;
}
