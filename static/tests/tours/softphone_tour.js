/** @odoo-module **/

import {registry} from "@web/core/registry";

/**
 * Sofia (dynamic agent of Sales, connected, and of Billing) logs in to Billing from the
 * softphone, sees the PBX's event make her connected, dials a number (the test then has a
 * manager disconnect her from Billing), sees that disconnect arrive live, and logs out of
 * all her queues. Run by tests/test_softphone.py with the PBX simulator.
 */
registry.category("web_tour.tours").add("voip_axivox_queue_softphone_tour", {
    test: true,
    url: "/web",
    steps: () => [
        {
            content: "The phone shows she is connected to one queue",
            trigger:
                ".o_axivox_softphone_systray .o_axivox_softphone_badge:contains(1)",
            isCheck: true,
        },
        {
            content: "Open the softphone",
            trigger: ".o_axivox_softphone_toggle",
        },
        {
            content: "Her queues are listed",
            trigger:
                ".o_axivox_queue_row.o_axivox_queue_connected:contains(Sales) .o_axivox_queue_disconnect",
            isCheck: true,
        },
        {
            content: "Connect to Billing (dials *620)",
            trigger:
                ".o_axivox_queue_row:not(.o_axivox_queue_connected):contains(Billing) .o_axivox_queue_connect",
        },
        {
            content: "Billing becomes connected when the PBX's event arrives",
            trigger:
                ".o_axivox_queue_row.o_axivox_queue_connected:not(.o_axivox_queue_pending):contains(Billing) .o_axivox_queue_disconnect",
            isCheck: true,
        },
        {
            content: "The badge counts two queues",
            trigger: ".o_axivox_softphone_badge:contains(2)",
            isCheck: true,
        },
        {
            content:
                "The code call ended by itself (the PBX hung up): the panel is idle again",
            trigger:
                ".o_axivox_dial_pad:not(:has(.o_axivox_call_status)) .o_axivox_dial_hangup:disabled",
            isCheck: true,
            timeout: 15000,
        },
        {
            content: "Type a number on the pad",
            trigger: ".o_axivox_dial_key[data-key='0']",
        },
        {
            trigger: ".o_axivox_dial_key[data-key='4']",
        },
        {
            trigger: ".o_axivox_dial_key[data-key='7']",
        },
        {
            trigger: ".o_axivox_dial_key[data-key='0']",
        },
        {
            content: "Call it",
            trigger: ".o_axivox_dial_call",
        },
        {
            content: "The call is shown",
            trigger: ".o_axivox_call_status:contains(0470)",
            isCheck: true,
        },
        {
            content: "A manager disconnects her from Billing: it appears live",
            trigger:
                ".o_axivox_queue_row:not(.o_axivox_queue_connected):contains(Billing) .o_axivox_queue_connect",
            isCheck: true,
            timeout: 20000,
        },
        {
            content: "The badge counts one queue again",
            trigger: ".o_axivox_softphone_badge:contains(1)",
            isCheck: true,
        },
        {
            content: "Hang up",
            trigger: ".o_axivox_dial_hangup",
        },
        {
            content: "End of the day: disconnect from all her queues",
            trigger: ".o_axivox_disconnect_all:enabled",
        },
        {
            content: "Sales is disconnected when the PBX's event arrives",
            trigger:
                ".o_axivox_queue_row:not(.o_axivox_queue_connected):not(.o_axivox_queue_pending):contains(Sales) .o_axivox_queue_connect",
            isCheck: true,
        },
        {
            content: "No badge any more",
            trigger: ".o_axivox_softphone_systray:not(:has(.o_axivox_softphone_badge))",
            isCheck: true,
        },
        {
            content: "Fold the panel",
            trigger: ".o_axivox_softphone_fold",
        },
        {
            content: "Folded: the header stays",
            trigger: ".o_axivox_softphone_panel.o_axivox_softphone_folded",
            isCheck: true,
        },
    ],
});
