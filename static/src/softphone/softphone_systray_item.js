/** @odoo-module **/

import {Component, useState} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {registry} from "@web/core/registry";
import {session} from "@web/session";
import {useService} from "@web/core/utils/hooks";

/** The phone icon of the systray; its badge counts the queues the agent is connected to. */
export class SoftphoneSystrayItem extends Component {
    static template = "voip_axivox_queue.SoftphoneSystrayItem";
    static props = {};

    setup() {
        this.softphone = useState(useService("voip_axivox_queue.softphone"));
    }

    get title() {
        const count = this.softphone.connectedQueueCount;
        if (!count) {
            return _t("Softphone: connected to no queue");
        }
        return count === 1
            ? _t("Softphone: connected to 1 queue")
            : _t("Softphone: connected to %s queues", count);
    }

    onClick() {
        this.softphone.toggle();
    }
}

export const systrayItem = {
    Component: SoftphoneSystrayItem,
    /**
     * Only internal users mapped to a PBX extension get the phone, and only when Odoo's
     * own VoIP widget (Enterprise ``voip``, OCA ``voip_oca``) is not installed: that one
     * is then the phone, no second phone icon.
     */
    isDisplayed: () =>
        Boolean(session.axivox_extension) && !session.axivox_phone_widget,
};

registry
    .category("systray")
    .add("voip_axivox_queue.Softphone", systrayItem, {sequence: 45});
