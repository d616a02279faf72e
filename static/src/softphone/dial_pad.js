/** @odoo-module **/

import {Component, useRef, useState} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {callStatusText} from "./softphone_service";
import {useService} from "@web/core/utils/hooks";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
const KEY_LETTERS = {
    2: "ABC",
    3: "DEF",
    4: "GHI",
    5: "JKL",
    6: "MNO",
    7: "PQRS",
    8: "TUV",
    9: "WXYZ",
    0: "+",
};

/** The dial pad: a number field (typing, pasting), 0-9 * #, backspace, call and hang up. */
export class DialPad extends Component {
    static template = "voip_axivox_queue.DialPad";
    static props = {onEscape: {type: Function, optional: true}};

    setup() {
        this.softphone = useState(useService("voip_axivox_queue.softphone"));
        this.inputRef = useRef("number");
        this.keys = KEYS;
        this.letters = KEY_LETTERS;
    }

    get callStatus() {
        return callStatusText(this.softphone.call);
    }

    /** The keys fold (the number, call and hang up stay): typing still dials. */
    get keysFolded() {
        return this.softphone.isSectionFolded("dialpad");
    }

    onToggleKeys() {
        this.softphone.toggleSection("dialpad");
    }

    get placeholder() {
        return _t("Number or code");
    }

    onInput(ev) {
        this.softphone.setNumber(ev.target.value);
        if (ev.target.value !== this.softphone.number) {
            ev.target.value = this.softphone.number;
        }
    }

    onKeyClick(key) {
        this.softphone.press(key);
    }

    onBackspace() {
        this.softphone.backspace();
    }

    onCall() {
        this.softphone.dial();
    }

    onHangup() {
        this.softphone.hangup();
    }

    /** Keyboard: digits, * and # when the pad has focus, Enter dials, Backspace, Escape. */
    onKeydown(ev) {
        const inField = ev.target === this.inputRef.el;
        if (ev.key === "Enter") {
            ev.preventDefault();
            ev.stopPropagation();
            this.softphone.dial();
        } else if (ev.key === "Escape") {
            ev.preventDefault();
            ev.stopPropagation();
            this.props.onEscape?.();
        } else if (inField || ev.ctrlKey || ev.metaKey || ev.altKey) {
            // The number field edits itself (typing, pasting)
            return;
        } else if (ev.key === "Backspace") {
            ev.preventDefault();
            this.softphone.backspace();
        } else if (/^[0-9*#+]$/.test(ev.key)) {
            ev.preventDefault();
            this.softphone.press(ev.key);
        }
    }
}
