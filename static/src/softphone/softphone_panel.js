/** @odoo-module **/

import {Component, useState} from "@odoo/owl";
import {DialPad} from "./dial_pad";
import {QueueList} from "./queue_list";
import {_t} from "@web/core/l10n/translation";
import {registry} from "@web/core/registry";
import {useService} from "@web/core/utils/hooks";

/** The softphone panel: stays open in a corner while the agent works; it can be folded. */
export class SoftphonePanel extends Component {
    static template = "voip_axivox_queue.SoftphonePanel";
    static components = {DialPad, QueueList};
    static props = {};

    setup() {
        this.softphone = useState(useService("voip_axivox_queue.softphone"));
    }

    get foldTitle() {
        return this.softphone.isFolded
            ? _t("Unfold the softphone")
            : _t("Fold the softphone");
    }

    onHeaderClick() {
        if (this.softphone.isFolded) {
            this.softphone.unfold();
        }
    }

    onFold(ev) {
        ev.stopPropagation();
        if (this.softphone.isFolded) {
            this.softphone.unfold();
        } else {
            this.softphone.fold();
        }
    }

    onClose(ev) {
        ev.stopPropagation();
        this.softphone.close();
    }

    onEscape() {
        this.softphone.fold();
    }

    onKeydown(ev) {
        if (ev.key === "Escape" && !this.softphone.isFolded) {
            ev.preventDefault();
            ev.stopPropagation();
            this.softphone.fold();
        }
    }

    onRetry() {
        this.softphone.load();
    }

    onDismissFeedback() {
        this.softphone.feedback = null;
    }
}

/** Renders the panel over the web client whenever it is open (main component). */
export class SoftphoneContainer extends Component {
    static template = "voip_axivox_queue.SoftphoneContainer";
    static components = {SoftphonePanel};
    static props = {};

    setup() {
        this.softphone = useState(useService("voip_axivox_queue.softphone"));
    }
}

registry
    .category("main_components")
    .add("voip_axivox_queue.SoftphoneContainer", {Component: SoftphoneContainer});
