/** @odoo-module **/

import {
    CALLBACKS_NOTIFICATION,
    CALLER_CARD_NOTIFICATION,
} from "@voip_axivox_queue/bus_notifications";
import {
    SOFTPHONE,
    Softphone,
    cleanNumber,
    errorMessage,
} from "@voip_axivox_queue/softphone/softphone_service";
import {reactive, useEnv, useState} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {patch} from "@web/core/utils/patch";
import {registry} from "@web/core/registry";

export {CALLBACKS_NOTIFICATION, CALLER_CARD_NOTIFICATION};

/**
 * "12 min", "2 h 05", "1 d 4 h" since a UTC "YYYY-MM-DD HH:MM:SS" (server time), at
 * ``now`` (ms): the way the queues dashboard reads the age of its oldest callback.
 */
export function ageText(utcString, now = Date.now()) {
    if (!utcString) {
        return "";
    }
    const then = Date.parse(utcString.replace(" ", "T") + "Z");
    const minutes = Math.max(0, Math.floor((now - then) / 60000));
    if (minutes < 60) {
        return _t("%s min", minutes);
    }
    const hours = Math.floor(minutes / 60);
    if (hours < 24) {
        return _t("%s h %s", hours, String(minutes % 60).padStart(2, "0"));
    }
    return _t("%s d %s h", Math.floor(hours / 24), hours % 24);
}

/**
 * The contact-centre side of the softphone: the open callbacks of the agent's queues and
 * the caller card of her current call. The bus keeps both true.
 */
export class ContactCentre {
    constructor(env, {orm, bus_service}, softphone) {
        this.env = env;
        this.orm = orm;
        this.busService = bus_service;
        this.softphone = softphone;
        this.callbacks = [];
        this.callbackCount = 0;
        this.callbacksLoaded = false;
        this.callbackError = null;
        this.busyCallbackId = false;
        /** The caller card: {call_id, number, partner, queue_name, history, source}. */
        this.card = null;
        /** Bumped by every new card: an older card read still in flight is then dropped. */
        this.cardSeq = 0;
    }

    // --------------------------------------------------------------- callbacks
    async loadCallbacks() {
        try {
            const result = await this.orm.call(SOFTPHONE, "get_callbacks", []);
            this.callbacks = result.callbacks;
            this.callbackCount = result.count;
            this.callbacksLoaded = true;
            this.callbackError = null;
        } catch (error) {
            this.callbackError = errorMessage(error);
        }
    }

    /** A callback changed in one of the agent's queues: read the list again. */
    onCallbacks() {
        this.loadCallbacks();
    }

    /** Claim the callback and call the caller from the agent's extension. */
    async callBack(callback) {
        if (this.busyCallbackId) {
            return;
        }
        this.busyCallbackId = callback.id;
        this.callbackError = null;
        if (this.softphone.sip) {
            await this._callBackSip(callback);
            return;
        }
        try {
            const info = await this.orm.call(SOFTPHONE, "call_back", [callback.id]);
            this.softphone.call = info;
            this.showCardFor(info.to, "outgoing");
        } catch (error) {
            this.callbackError = errorMessage(error);
        } finally {
            this.busyCallbackId = false;
            await this.loadCallbacks();
        }
    }

    /**
     * With the phone in the browser: claim the callback, then call the caller from the
     * browser. Her call answered closes the callback (the softphone tells the server).
     */
    async _callBackSip(callback) {
        try {
            const claimed = await this.orm.call(SOFTPHONE, "claim_callback", [
                callback.id,
            ]);
            const softphone = this.softphone;
            if (await softphone._dialSip(claimed.number)) {
                this.showCardFor(claimed.number, "outgoing");
            } else if (softphone.feedback) {
                this.callbackError = softphone.feedback.text;
                softphone.feedback = null;
            }
        } catch (error) {
            this.callbackError = errorMessage(error);
        } finally {
            this.busyCallbackId = false;
            await this.loadCallbacks();
        }
    }

    // ------------------------------------------------------------- caller card
    /**
     * A ``CALLER_CARD_NOTIFICATION`` notification: ``{cards, ended}``, the queue
     * callers just connected to the agent (the last one is shown) and the queue calls of
     * hers that ended (their card is removed).
     */
    onCallerCard(payload) {
        if (!payload) {
            return;
        }
        const ended = payload.ended || [];
        this.cardSeq++;
        if (this.card && this.card.call_id && ended.includes(this.card.call_id)) {
            this.card = null;
        }
        const cards = payload.cards || [];
        if (cards.length) {
            this.card = {...cards[cards.length - 1], source: "queue"};
        }
    }

    /** The card of a number the agent calls from the softphone. */
    async showCardFor(typed, source = "outgoing") {
        const number = cleanNumber(typed);
        if (!number || number.length < 3) {
            return;
        }
        const seq = ++this.cardSeq;
        try {
            const card = await this.orm.call(SOFTPHONE, "caller_card", [number]);
            if (seq !== this.cardSeq) {
                // A queue caller was connected (or the call ended) meanwhile: that wins
                return;
            }
            this.card = {...card, source};
        } catch {
            // The card is a help, not the call: a failure to read it is not shown
        }
    }

    dismissCard() {
        this.cardSeq++;
        this.card = null;
    }
}

export const contactCentreService = {
    dependencies: ["orm", "bus_service", "voip_axivox_queue.softphone"],
    start(env, services) {
        const softphone = services["voip_axivox_queue.softphone"];
        const centre = reactive(new ContactCentre(env, services, softphone));
        if (softphone.hasExtension) {
            services.bus_service.subscribe(CALLBACKS_NOTIFICATION, () =>
                centre.onCallbacks()
            );
            services.bus_service.subscribe(CALLER_CARD_NOTIFICATION, (payload) =>
                centre.onCallerCard(payload)
            );
            centre.loadCallbacks();
        }
        return centre;
    },
};

registry
    .category("services")
    .add("voip_axivox_queue.contact_centre", contactCentreService);

/** A component's hook: the contact-centre service as its state, null if it does not run. */
export function useContactCentre() {
    const centre = useEnv().services["voip_axivox_queue.contact_centre"];
    return centre ? useState(centre) : null;
}

// A call placed from the pad shows the card of the number called (when the contact-centre
// service runs; nothing changes otherwise).
patch(Softphone.prototype, {
    async dial(number = this.number) {
        const result = await super.dial(number);
        const centre =
            this.env.services && this.env.services["voip_axivox_queue.contact_centre"];
        if (centre && this.call && this.call.to && !this._isQueueCode(this.call.to)) {
            centre.showCardFor(this.call.to, "outgoing");
        }
        return result;
    },

    /** A call that rings in the browser shows the card of the caller. */
    _onSipIncoming(id, caller) {
        super._onSipIncoming(id, caller);
        const centre =
            this.env.services && this.env.services["voip_axivox_queue.contact_centre"];
        if (centre && caller.number) {
            centre.showCardFor(caller.number, "incoming");
        }
    },

    /** A queue's code (hers or another queue's, "*610"), or any service code: no caller. */
    _isQueueCode(number) {
        return (
            /^[*#]/.test(number) ||
            this.queues.some((q) => q.login_code === number || q.logout_code === number)
        );
    },
});
