/** @odoo-module **/

import {registry} from "@web/core/registry";

/**
 * Sofia (agent of Sales) works with the softphone open. Run by tests/test_contact_centre_tour.py
 * with the PBX simulator, which plays the PBX's side when she dials the marker numbers:
 *  - 0471: a queue caller (the contact Alice Tour) is connected to her: the card shows the
 *    contact and her company; 0472: that call ends (the card goes) and another caller
 *    abandons in Sales: the callback appears; she calls back; the answered call closes it.
 */
function dial(digits) {
    return [...digits].map((key) => ({
        content: `Type ${key}`,
        trigger: `.o_axivox_dial_key[data-key='${key}']`,
    }));
}

registry.category("web_tour.tours").add("voip_axivox_queue_contact_centre_tour", {
    test: true,
    url: "/web",
    steps: () => [
        {
            content: "Open the softphone",
            trigger: ".o_axivox_softphone_toggle",
        },
        {
            content: "The callbacks section is there",
            trigger: ".o_axivox_callback_list .o_axivox_callback_count",
            isCheck: true,
        },
        ...dial("0471"),
        {
            content:
                "Call the marker number (the PBX then connects a queue caller to her)",
            trigger: ".o_axivox_dial_call",
        },
        {
            content: "The caller card shows the contact of the queue caller",
            trigger: ".o_axivox_caller_card .o_axivox_caller_name:contains(Alice Tour)",
            isCheck: true,
        },
        {
            content: "... her company, and the queue",
            trigger:
                ".o_axivox_caller_card .o_axivox_caller_company:contains(Tour Company)",
            isCheck: true,
        },
        {
            content: "Hang up the marker call",
            trigger: ".o_axivox_dial_hangup",
        },
        ...[1, 2, 3, 4].map(() => ({
            content: "Erase the number",
            trigger: ".o_axivox_dial_backspace:not([disabled])",
        })),
        ...dial("0472"),
        {
            content: "Call the second marker (the queue call ends, a caller abandons)",
            trigger: ".o_axivox_dial_call",
        },
        {
            content: "The card goes when the queue call ends",
            trigger:
                ".o_axivox_softphone_panel:not(:has(.o_axivox_caller_name:contains(Alice Tour)))",
            isCheck: true,
        },
        {
            content: "The abandoned caller is to call back: call her back",
            trigger:
                ".o_axivox_callback_row:contains(+3225550777) .o_axivox_callback_call",
        },
        {
            content: "The answered call closes the callback",
            trigger:
                ".o_axivox_callback_list:not(:has(.o_axivox_callback_row:contains(+3225550777)))",
            isCheck: true,
        },
    ],
});
