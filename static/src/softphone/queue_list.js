/** @odoo-module **/

import {Component, useState} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {formatSince} from "./softphone_service";
import {useService} from "@web/core/utils/hooks";

/** "My queues": every queue of the agent, its login state and the button to change it. */
export class QueueList extends Component {
    static template = "voip_axivox_queue.QueueList";
    static props = {};

    setup() {
        this.softphone = useState(useService("voip_axivox_queue.softphone"));
    }

    get folded() {
        return this.softphone.isSectionFolded("queues");
    }

    onToggle() {
        this.softphone.toggleSection("queues");
    }

    since(queue) {
        return queue.connected_since
            ? _t("since %s", formatSince(queue.connected_since))
            : "";
    }

    /** The title of the queue's count of connected agents (the row shows the number). */
    agentsConnected(queue) {
        const count = queue.connected_count || 0;
        if (count === 0) {
            return _t("no agent connected");
        }
        return count === 1 ? _t("1 agent connected") : _t("%s agents connected", count);
    }

    loginCodeTitle(queue) {
        return _t("Dial %s to connect to %s", queue.login_code, queue.name);
    }

    logoutCodeTitle(queue) {
        return _t("Dial %s to disconnect from %s", queue.logout_code, queue.name);
    }

    typeLabel(queue) {
        return queue.member_type === "static" ? _t("Static") : _t("Dynamic");
    }

    pendingLabel(queue) {
        return queue.pending === "connecting"
            ? _t("connecting...")
            : _t("disconnecting...");
    }

    onConnect(queue) {
        this.softphone.connect(queue);
    }

    onDisconnect(queue) {
        this.softphone.disconnect(queue);
    }

    onDisconnectAll() {
        this.softphone.disconnectAll();
    }
}
