/** @odoo-module **/

import {CallbackList} from "./callback_list";
import {CallerCard} from "./caller_card";
import {SoftphonePanel} from "@voip_axivox_queue/softphone/softphone_panel";

// The contact-centre sections of the softphone panel (template: softphone_panel_sections.xml).
SoftphonePanel.components = {...SoftphonePanel.components, CallbackList, CallerCard};
