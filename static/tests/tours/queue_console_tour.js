/** @odoo-module **/

import {registry} from "@web/core/registry";

/**
 * A manager on the queues dashboard: disconnects Hugo (who forgot) from Support in one click,
 * undoes it with the notification's Reconnect, disconnects him again, opens the report page of Sales, picks a period preset and exports what
 * is shown, then deletes Billing (the confirmation says it is deleted on the PBX too). Run by
 * tests/test_console.py with the PBX simulator.
 */
registry.category("web_tour.tours").add("voip_axivox_queue_console_tour", {
    test: true,
    url: "/web#action=voip_axivox_queue.axivox_queue_action&view_type=list",
    steps: () => [
        {
            content: "Support shows Claire always connected",
            trigger:
                ".o_data_row:contains(Support) .o_axivox_agent.o_axivox_agent_static:contains(Claire Martin):contains(always connected)",
            isCheck: true,
        },
        {
            content: "Disconnect Hugo from Support, on the dashboard",
            trigger:
                ".o_data_row:contains(Support) .o_axivox_agent:contains(Hugo Bernard) .o_axivox_agent_disconnect",
        },
        {
            content: "Hugo is no longer connected to Support: at once, no confirmation",
            trigger:
                ".o_data_row:contains(Support) .o_axivox_connected_agents:contains(Claire Martin):not(:contains(Hugo Bernard))",
            isCheck: true,
        },
        {
            content: "The notification names him and the queue, and offers to undo",
            trigger:
                ".o_notification:contains(Hugo Bernard is disconnected from Support.) .o_notification_buttons button:contains(Reconnect)",
        },
        {
            content: "Reconnect: Hugo is connected to Support again",
            trigger:
                ".o_data_row:contains(Support) .o_axivox_agent:contains(Hugo Bernard) .o_axivox_agent_disconnect",
        },
        {
            content: "Disconnected again, for good",
            trigger:
                ".o_data_row:contains(Support) .o_axivox_connected_agents:contains(Claire Martin):not(:contains(Hugo Bernard))",
            isCheck: true,
        },
        {
            content: "Open the report of Sales",
            trigger: ".o_data_row:contains(Sales) button[name=action_open_report]",
        },
        {
            content: "The report is a page: filters beside the results",
            trigger:
                ".o_axivox_report_filters .o_axivox_report_types input[data-type=CONNECT]:checked",
            isCheck: true,
        },
        {
            content: "Results of the last 7 days",
            trigger: ".o_axivox_report_row",
            isCheck: true,
        },
        {
            content: "Pick the 'This week' preset",
            trigger: ".o_axivox_report_periods button[data-period=this_week]",
        },
        {
            content: "The preset is kept beside the results",
            trigger: ".o_axivox_report_periods button[data-period=this_week].active",
            isCheck: true,
        },
        {
            content: "Export to CSV what is shown",
            trigger: ".o_axivox_report_export:enabled",
        },
        {
            content: "Back to the queues",
            trigger: ".o_control_panel .breadcrumb-item a:contains(Call Queues)",
        },
        {
            content: "Select Billing",
            trigger: ".o_data_row:contains(Billing) .o_list_record_selector input",
        },
        {
            content: "Open the actions",
            trigger: ".o_control_panel .o_cp_action_menus button",
        },
        {
            content: "Delete",
            trigger: ".o-dropdown--menu .dropdown-item:contains(Delete)",
        },
        {
            content: "The confirmation says the PBX deletes it too",
            trigger: ".modal-body:contains(deleted on the PBX too)",
            isCheck: true,
        },
        {
            content: "Delete on the PBX",
            trigger: ".modal-footer .btn-primary:contains(Delete on the PBX)",
        },
        {
            content: "Billing is gone from the dashboard",
            trigger:
                ".o_list_view:not(:has(.o_data_row:contains(Billing))) .o_data_row:contains(Sales)",
            isCheck: true,
        },
    ],
});
