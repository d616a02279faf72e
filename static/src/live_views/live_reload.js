/** @odoo-module **/

import {onMounted, onWillUnmount, useEnv} from "@odoo/owl";
import {MEMBER_STATE_NOTIFICATION} from "@voip_axivox_queue/bus_notifications";
import {browser} from "@web/core/browser/browser";

/** A burst of notifications (a batch of PBX events) makes one reload, this long after the first. */
export const LIVE_RELOAD_DELAY = 300;

/**
 * Reload an open view when agents log in or out of queues (the bus notification
 * `MEMBER_STATE_NOTIFICATION` that `axivox.queue.member._notify_state` sends to the
 * agent and to the managers), without reloading the page.
 *
 * The view listens from its mounting to its unmounting: Odoo 17's `bus_service.subscribe` has
 * no counterpart to stop listening, so this listens to the bus's "notification" event (the
 * notifications of one message of the bus, as a list of `{ type, payload }`), which can be
 * removed. The service is taken from the environment, not with `useService`: the bus service is
 * declared `async: true`, which `useService` cannot wrap in Odoo 17 ("methods is not iterable").
 *
 * @param {Object} params
 * @param {() => Promise<void>} params.reload reloads the view's model
 * @param {(payload: Object) => boolean} [params.concerns] whether a notification concerns
 *      what the view shows (every notification by default)
 * @param {() => boolean|Promise<boolean>} [params.canReload] false leaves the view as it is
 *      (a form with unsaved changes)
 */
export function useMemberStateReload({
    reload,
    concerns = () => true,
    canReload = () => true,
}) {
    const busService = useEnv().services.bus_service;
    let timer = null;
    let mounted = false;

    async function run() {
        timer = null;
        if (mounted && (await canReload()) && mounted) {
            await reload();
        }
    }

    function onNotification({detail: notifications}) {
        const relevant = (notifications || []).some(
            ({type, payload}) =>
                type === MEMBER_STATE_NOTIFICATION && payload && concerns(payload)
        );
        if (relevant && mounted && timer === null) {
            timer = browser.setTimeout(run, LIVE_RELOAD_DELAY);
        }
    }

    onMounted(() => {
        mounted = true;
        busService.addEventListener("notification", onNotification);
    });
    onWillUnmount(() => {
        mounted = false;
        busService.removeEventListener("notification", onNotification);
        if (timer !== null) {
            browser.clearTimeout(timer);
            timer = null;
        }
    });
}
