/** @odoo-module **/

import {Component, onWillUnmount, useState} from "@odoo/owl";
import {ageText, useContactCentre} from "./contact_centre_service";
import {_t} from "@web/core/l10n/translation";
import {browser} from "@web/core/browser/browser";

/** "To call back" in the softphone: the open callbacks of the agent's queues. */
export class CallbackList extends Component {
    static template = "voip_axivox_queue.CallbackList";
    static props = {};

    setup() {
        this.centre = useContactCentre();
        this.state = useState({now: Date.now()});
        // Ages move on while the panel is open (no server call).
        const timer = browser.setInterval(() => (this.state.now = Date.now()), 30000);
        onWillUnmount(() => browser.clearInterval(timer));
    }

    age(callback) {
        return ageText(callback.call_time, this.state.now);
    }

    label(callback) {
        return callback.partner_name || callback.number;
    }

    claimedByOther(callback) {
        return (
            callback.state === "claimed" &&
            callback.claimed_by_id !== this.centre.softphone.userId
        );
    }

    claimedText(callback) {
        return this.claimedByOther(callback)
            ? _t("claimed by %s", callback.claimed_by_name)
            : _t("claimed by you");
    }

    attemptsText(callback) {
        return callback.attempts > 1
            ? _t("%s attempts", callback.attempts)
            : _t("1 attempt");
    }

    onCallBack(callback) {
        this.centre.callBack(callback);
    }

    get folded() {
        return this.centre.softphone.isSectionFolded("callbacks");
    }

    onToggle() {
        this.centre.softphone.toggleSection("callbacks");
    }
}
