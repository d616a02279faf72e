/** @odoo-module **/

import {Component} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {formatSince} from "@voip_axivox_queue/softphone/softphone_service";
import {useContactCentre} from "./contact_centre_service";

/** Who is on the line: the contact of the number, her company, her last queue calls. */
export class CallerCard extends Component {
    static template = "voip_axivox_queue.CallerCard";
    static props = {};

    setup() {
        this.centre = useContactCentre();
    }

    get action() {
        return this.env.services.action;
    }

    get card() {
        return this.centre && this.centre.card;
    }

    /** What folds: the button to create the contact and the last queue calls. */
    get hasDetails() {
        const card = this.card;
        return Boolean(
            card && (!card.partner || (card.history && card.history.length))
        );
    }

    get folded() {
        return this.centre.softphone.isSectionFolded("caller");
    }

    get foldTitle() {
        return this.folded ? _t("Show the details") : _t("Hide the details");
    }

    onToggle(ev) {
        ev.stopPropagation();
        this.centre.softphone.toggleSection("caller");
    }

    /** The card's top row is its header: a click on it folds (not on a link or button). */
    onHeaderClick(ev) {
        if (this.hasDetails && !ev.target.closest("a, button")) {
            this.centre.softphone.toggleSection("caller");
        }
    }

    outcomeLabel(call) {
        return call.outcome_label || call.outcome;
    }

    when(call) {
        return formatSince(call.start_time);
    }

    openRecord(model, id) {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: model,
            res_id: id,
            views: [[false, "form"]],
            target: "current",
        });
    }

    onOpenContact() {
        this.openRecord("res.partner", this.card.partner.id);
    }

    onOpenCompany() {
        this.openRecord("res.partner", this.card.partner.company_id);
    }

    onCreateContact() {
        this.action.doAction({
            type: "ir.actions.act_window",
            name: _t("New contact"),
            res_model: "res.partner",
            views: [[false, "form"]],
            target: "current",
            context: {default_phone: this.card.number},
        });
    }

    onDismiss() {
        this.centre.dismissCard();
    }
}
