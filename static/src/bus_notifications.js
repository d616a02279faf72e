/** @odoo-module **/

/**
 * The types of the addon's bus notifications, for every module of the web client that
 * sends or subscribes to them. The server and the scripts read them from here
 * (bus_notifications.py): one `export const <NAME>_NOTIFICATION = "<type>";` a line.
 */
export const MEMBER_STATE_NOTIFICATION = "voip_axivox_queue/member_state";
export const CALLBACKS_NOTIFICATION = "voip_axivox_queue/callbacks";
export const CALLER_CARD_NOTIFICATION = "voip_axivox_queue/caller_card";
export const WALLBOARD_NOTIFICATION = "voip_axivox_queue/wallboard";
