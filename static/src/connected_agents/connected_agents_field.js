/** @odoo-module **/

import {deserializeDateTime, formatDateTime} from "@web/core/l10n/dates";
import {Component} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {registry} from "@web/core/registry";
import {standardFieldProps} from "@web/views/fields/standard_field_props";
import {useService} from "@web/core/utils/hooks";

/**
 * The connected agents of a queue, as the console's dashboard shows them: static agents
 * marked "always connected", who is on a queue call and since when, and for managers the
 * console's red Disconnect on each dynamic agent (option ``disconnect``, which the views
 * give to managers only; the server checks the rights anyway). Disconnect acts at once,
 * as in the console; a notification then offers to Reconnect the agent.
 */
export class ConnectedAgentsField extends Component {
    static template = "voip_axivox_queue.ConnectedAgentsField";
    static props = {
        ...standardFieldProps,
        canDisconnect: {type: Boolean, optional: true},
    };

    setup() {
        this.orm = useService("orm");
        this.notification = useService("notification");
    }

    get agents() {
        return this.props.record.data[this.props.name].records.map((record) => ({
            id: record.resId,
            name: record.data.user_id ? record.data.user_id[1] : "",
            isStatic: record.data.member_type === "static",
            onCall: record.data.on_call,
            onCallSince: record.data.on_call_since,
        }));
    }

    onCallTitle(agent) {
        return agent.onCallSince
            ? _t("On a queue call since %s", this.since(agent))
            : _t("On a queue call");
    }

    disconnectTitle(agent) {
        return _t("Disconnect %s", agent.name);
    }

    /** "14:43" today, the date and time otherwise (the record gives a luxon DateTime). */
    since(agent) {
        const value = agent.onCallSince;
        if (!value) {
            return "";
        }
        const moment = typeof value === "string" ? deserializeDateTime(value) : value;
        return luxon.DateTime.now().hasSame(moment, "day")
            ? formatDateTime(moment, {format: "HH:mm"})
            : formatDateTime(moment);
    }

    async onDisconnect(agent, ev) {
        ev.stopPropagation();
        const queue =
            this.props.record.data.display_name || this.props.record.data.name || "";
        await this.orm.call("axivox.queue.member", "action_disconnect", [[agent.id]]);
        await this.props.record.load();
        const close = this.notification.add(
            _t("%s is disconnected from %s.", agent.name, queue),
            {
                type: "info",
                buttons: [
                    {
                        name: _t("Reconnect"),
                        icon: "fa-sign-in",
                        primary: true,
                        onClick: () => {
                            close();
                            return this.reconnect(agent, queue);
                        },
                    },
                ],
            }
        );
    }

    /** Undo a Disconnect: the PBX connects the agent again, as Connect an agent does. */
    async reconnect(agent, queue) {
        await this.orm.call("axivox.queue.member", "action_connect", [[agent.id]]);
        await this.props.record.load();
        this.notification.add(_t("%s is connected to %s again.", agent.name, queue), {
            type: "success",
        });
    }
}

export const connectedAgentsField = {
    component: ConnectedAgentsField,
    displayName: "Connected agents",
    extractProps: ({options}) => ({canDisconnect: Boolean(options.disconnect)}),
    supportedTypes: ["one2many", "many2many"],
    relatedFields: [
        {name: "user_id", type: "many2one", relation: "res.users"},
        {
            name: "member_type",
            type: "selection",
            selection: [
                ["static", "Static"],
                ["dynamic", "Dynamic"],
            ],
        },
        {name: "on_call", type: "boolean"},
        {name: "on_call_since", type: "datetime"},
    ],
};

registry.category("fields").add("axivox_connected_agents", connectedAgentsField);
