/** @odoo-module **/

import {SipUserAgent, sipError} from "./sip_user_agent";
import {deserializeDateTime, formatDateTime} from "@web/core/l10n/dates";
import {markRaw, reactive} from "@odoo/owl";
import {MEMBER_STATE_NOTIFICATION} from "@voip_axivox_queue/bus_notifications";
import {_t} from "@web/core/l10n/translation";
import {browser} from "@web/core/browser/browser";
import {registry} from "@web/core/registry";
import {session} from "@web/session";

/** The server model the softphone calls (``axivox.softphone``), and only it. */
export const SOFTPHONE = "axivox.softphone";
export {MEMBER_STATE_NOTIFICATION};
/**
 * Whether a number can be dialled: digits, * and #, and a leading + (pasted numbers). The
 * rule is the server's (axivox_api/rules.py), handed over in the session info; without it
 * the server's own check answers.
 */
export function isDialable(number) {
    const pattern = session.axivox_dialable_pattern;
    return !pattern || new RegExp(pattern).test(number);
}
/**
 * The sections of the panel that fold (their header is clicked): the dial pad's keys, the
 * queues, the callbacks and the caller card's details. All unfolded at first: on a
 * 900 px-high screen the caller card, the dial pad and the first queues show together
 * (only the lists below the dial pad scroll); what the agent folds stays folded, per user,
 * in this browser.
 */
export const PANEL_SECTIONS = ["caller", "dialpad", "queues", "callbacks"];
export function foldedSectionsKey(userId) {
    return `voip_axivox_queue.softphone.folded_sections.${userId}`;
}
function readFoldedSections(userId) {
    try {
        const saved = JSON.parse(
            browser.localStorage.getItem(foldedSectionsKey(userId)) || "{}"
        );
        return Object.fromEntries(
            PANEL_SECTIONS.map((name) => [name, Boolean(saved && saved[name])])
        );
    } catch {
        // Unreadable (edited by hand, storage refused): the defaults.
        return Object.fromEntries(PANEL_SECTIONS.map((name) => [name, false]));
    }
}

/** If the PBX event of a login/logout never comes (bus down), re-read the state. */
export const PENDING_TIMEOUT = 15000;

/**
 * Keep what can be dialed from typed or pasted text: "+32 (2) 555-01.00" -> "+3225550100".
 */
export function cleanNumber(text) {
    const raw = String(text || "").trim();
    const plus = raw.startsWith("+") ? "+" : "";
    return plus + raw.replace(/[^0-9*#]/g, "");
}

/** The message of a failed RPC, for the user (a UserError's text as the server wrote it). */
export function errorMessage(error) {
    if (error && error.data && error.data.message) {
        return error.data.message;
    }
    if (error && error.name === "ConnectionLostError") {
        return _t("Odoo cannot be reached: check your connection and try again.");
    }
    return (error && error.message) || _t("Something went wrong.");
}

/** What the PBX answers when a queue code is refused. */
export const REFUSED_OUTCOMES = ["static_agent", "not_a_member"];

/** While a call is shown, its state is read again every second... */
export const CALL_POLL_INTERVAL = 1000;
/** ... for at most this many reads (four hours), or this many failures in a row. */
export const CALL_POLL_MAX = 4 * 3600;
export const CALL_POLL_MAX_ERRORS = 5;
/** An ended call stays on screen this long, then the panel is idle again. */
export const CALL_SETTLE_DELAY = 3000;
/** What a call that is over looks like. */
export const CALL_OVER = ["ended", "failed"];

/** What dialing a queue code did, in words, when it did not do what was asked. */
function outcomeMessage(info, queue) {
    if (!queue) {
        return info.message || _t("The PBX refused the code %s.", info.to);
    }
    const name = queue.name;
    switch (info.outcome) {
        case "static_agent":
            return _t("You are a static agent of %s: you are always connected.", name);
        case "not_a_member":
            return _t("The PBX says you are not an agent of %s.", name);
        case "already_logged_in":
            return _t("You were already connected to %s.", name);
        case "already_logged_out":
            return _t("You were already disconnected from %s.", name);
        default:
            return info.message || _t("The PBX refused the code %s.", info.to);
    }
}

/** A call to a queue code: the PBX answers, says what it did and hangs up. */
export function isCodeCall(call) {
    return Boolean(
        call && call.outcome && !["ringing", "answered"].includes(call.outcome)
    );
}

/** The call progress line of the panel: the call's real state, each number said once. */
export function callStatusText(call) {
    if (!call) {
        return "";
    }
    if (isCodeCall(call) && call.message && !CALL_OVER.includes(call.state)) {
        // A queue code: the PBX says what it did, plays it and hangs up.
        return call.message;
    }
    // The other side: the number called, or the caller of an incoming call.
    const other = call.incoming ? call.from : call.to;
    switch (call.state) {
        case "incoming":
            return _t("%s is calling you", other || _t("An unknown number"));
        case "dialing":
            return _t("Calling %s...", other);
        case "ringing":
            return _t("Ringing %s...", other);
        case "answered":
            return _t("In call with %s", other);
        case "ended":
            return _t("Call ended");
        case "failed":
            return _t("The call could not be placed");
        default:
            return _t("Calling %s...", call.to);
    }
}

export function formatSince(value) {
    if (!value) {
        return "";
    }
    const moment = deserializeDateTime(value);
    const today = luxon.DateTime.now().hasSame(moment, "day");
    return today ? formatDateTime(moment, {format: "HH:mm"}) : formatDateTime(moment);
}

/**
 * The softphone of the current user: her extension, her queues and their login state,
 * the number on the pad and the current call. Components read it (it is reactive) and
 * call its methods; the bus keeps it true.
 */
export class Softphone {
    constructor(env, {orm, bus_service, user}) {
        this.env = env;
        this.orm = orm;
        this.busService = bus_service;
        this.userId = user.userId;
        const extension = session.axivox_extension;
        this.hasExtension = Boolean(extension);
        this.extension = extension || false;
        this.isOpen = false;
        this.isFolded = false;
        /** {section name: folded}, see PANEL_SECTIONS. */
        this.foldedSections = readFoldedSections(this.userId);
        this.loaded = false;
        this.loading = false;
        this.loadError = null;
        this.queues = [];
        this.number = "";
        this.call = null;
        this.calling = false;
        this.disconnectingAll = false;
        /** Panel-level feedback: {type: "danger" | "info" | "success", text}. */
        this.feedback = null;
        this._pendingTimers = {};
        this._callTimer = null;
        this._callPolls = 0;
        this._callPollErrors = 0;
        /**
         * The phone in the browser, when the PBX account has a SIP WebSocket URL and she
         * has a SIP password: {status, error: {code, text, hint}, login}; null without.
         */
        this.sip = null;
        this._sipConfig = null;
        this._sipAgent = null;
        /** The code calls "Disconnect from all my queues" waits for: id -> resolve. */
        this._sipWaiters = {};
    }

    // ------------------------------------------------------------------ getters
    get connectedQueueCount() {
        return this.queues.filter((queue) => queue.connected).length;
    }

    get canDisconnectAll() {
        return this.queues.some(
            (queue) =>
                queue.member_type === "dynamic" && queue.connected && !queue.pending
        );
    }

    queueByMember(memberId) {
        return this.queues.find((queue) => queue.member_id === memberId);
    }

    // ------------------------------------------------------------------- panel
    open() {
        if (!this.hasExtension) {
            return;
        }
        this.isOpen = true;
        this.isFolded = false;
        if (!this.loaded && !this.loading) {
            this.load();
        }
    }

    close() {
        this.isOpen = false;
    }

    toggle() {
        if (this.isOpen && !this.isFolded) {
            this.close();
        } else {
            this.open();
        }
    }

    fold() {
        this.isFolded = true;
    }

    unfold() {
        this.isFolded = false;
    }

    isSectionFolded(name) {
        return Boolean(this.foldedSections[name]);
    }

    /** Fold or unfold a section of the panel; remembered for the user in this browser. */
    toggleSection(name) {
        this.foldedSections = {
            ...this.foldedSections,
            [name]: !this.isSectionFolded(name),
        };
        try {
            browser.localStorage.setItem(
                foldedSectionsKey(this.userId),
                JSON.stringify(this.foldedSections)
            );
        } catch {
            // Storage refused (private browsing, quota): folded for this page only.
        }
    }

    // -------------------------------------------------------------------- state
    /** Read the extension and every queue of the agent, in one call. */
    async load() {
        this.loading = true;
        try {
            const state = await this.orm.call(SOFTPHONE, "get_state", []);
            this.extension = state.extension;
            this.hasExtension = Boolean(state.extension);
            this.queues = state.queues.map((queue) => ({
                ...queue,
                pending: false,
                error: null,
            }));
            for (const memberId of Object.keys(this._pendingTimers)) {
                this._clearPendingTimer(Number(memberId));
            }
            this.loadError = null;
            this.loaded = true;
            this._setupSip(state.sip || null);
        } catch (error) {
            this.loadError = errorMessage(error);
        } finally {
            this.loading = false;
        }
    }

    /** A ``MEMBER_STATE_NOTIFICATION`` notification of the bus. */
    onMemberState(payload) {
        if (!payload) {
            return;
        }
        if (payload.user_id === this.userId) {
            const queue = this.queueByMember(payload.member_id);
            if (!queue) {
                // A membership we do not know yet (added by a manager or the sync).
                if (this.loaded) {
                    this.load();
                }
                return;
            }
            queue.connected = payload.connected;
            queue.connected_since = payload.connected_since || false;
            queue.connected_count = payload.connected_count;
            queue.pending = false;
            queue.error = null;
            this._clearPendingTimer(queue.member_id);
        } else {
            for (const queue of this.queues) {
                if (queue.queue_id === payload.queue_id) {
                    queue.connected_count = payload.connected_count;
                }
            }
        }
    }

    // -------------------------------------------------------------------- calls
    setNumber(text) {
        this.number = cleanNumber(text).slice(0, 21);
    }

    press(key) {
        if (!/^[0-9*#+]$/.test(key) || this.number.length >= 21) {
            return;
        }
        if (key === "+" && this.number) {
            return;
        }
        this.number += key;
    }

    backspace() {
        this.number = this.number.slice(0, -1);
    }

    get inCall() {
        return Boolean(this.call && !CALL_OVER.includes(this.call.state));
    }

    /**
     * Show a call and follow it: while it is not over, its state is read from the PBX every
     * second (a bounded poll: at most CALL_POLL_MAX reads, and it stops when the call is
     * over or no longer shown); an ended call stays on screen CALL_SETTLE_DELAY, then the
     * panel is idle again.
     */
    showCall(info) {
        this._stopCallTimer();
        this.call = info || null;
        this._callPolls = 0;
        this._callPollErrors = 0;
        if (!info) {
            return;
        }
        if (CALL_OVER.includes(info.state)) {
            this._settleCall(info.id);
        } else if (info.id && !info.sip) {
            this._scheduleCallPoll(info.id);
        }
    }

    _stopCallTimer() {
        if (this._callTimer) {
            browser.clearTimeout(this._callTimer);
            this._callTimer = null;
        }
    }

    _scheduleCallPoll(callId) {
        this._callTimer = browser.setTimeout(() => {
            this._callTimer = null;
            this._pollCall(callId);
        }, CALL_POLL_INTERVAL);
    }

    async _pollCall(callId) {
        if (
            !this.call ||
            this.call.id !== callId ||
            CALL_OVER.includes(this.call.state)
        ) {
            return;
        }
        this._callPolls++;
        let info = null;
        try {
            info = await this.orm.silent.call(SOFTPHONE, "call_state", [callId]);
            this._callPollErrors = 0;
        } catch {
            this._callPollErrors++;
        }
        if (!this.call || this.call.id !== callId) {
            // Another call meanwhile
            return;
        }
        if (info) {
            // The PBX's state; what the dial said (its message) stays.
            this.call = {...this.call, state: info.state};
            if (CALL_OVER.includes(info.state)) {
                this._settleCall(callId);
                return;
            }
        }
        if (
            this._callPolls < CALL_POLL_MAX &&
            this._callPollErrors < CALL_POLL_MAX_ERRORS
        ) {
            this._scheduleCallPoll(callId);
        }
    }

    _settleCall(callId) {
        this._stopCallTimer();
        this._callTimer = browser.setTimeout(() => {
            this._callTimer = null;
            if (
                this.call &&
                this.call.id === callId &&
                CALL_OVER.includes(this.call.state)
            ) {
                this.call = null;
            }
        }, CALL_SETTLE_DELAY);
    }

    /** The green button: place a call through the PBX from the agent's extension. */
    async dial(typed = this.number) {
        const number = cleanNumber(typed);
        if (this.calling) {
            return;
        }
        if (!number) {
            this.feedback = {type: "danger", text: _t("Type a number to call.")};
            return;
        }
        if (!isDialable(number)) {
            this.feedback = {
                type: "danger",
                text: _t("%s is not a number: use digits, * and # only.", number),
            };
            return;
        }
        if (this.sip) {
            await this._dialSip(number);
            return;
        }
        this.calling = true;
        this.feedback = null;
        try {
            const info = await this.orm.call(SOFTPHONE, "dial", [number]);
            this.showCall(info);
            this._noteCodeDialed(info);
        } catch (error) {
            this.feedback = {type: "danger", text: errorMessage(error)};
        } finally {
            this.calling = false;
        }
    }

    /** The red button. */
    async hangup() {
        if (this.call && this.call.sip) {
            await this._sipAgent?.hangup();
            return;
        }
        if (!this.call || !this.call.id) {
            this.number = "";
            return;
        }
        try {
            this.showCall(await this.orm.call(SOFTPHONE, "hang_up", [this.call.id]));
            this.feedback = null;
        } catch (error) {
            this.feedback = {type: "danger", text: errorMessage(error)};
        }
    }

    /** A queue code typed on the pad: show the row as pending like its button would. */
    _noteCodeDialed(info) {
        const queue = this.queues.find(
            (q) => q.login_code === info.to || q.logout_code === info.to
        );
        if (queue) {
            const connect = queue.login_code === info.to;
            this._applyCodeOutcome(queue, connect, info);
        } else if (REFUSED_OUTCOMES.includes(info.outcome)) {
            this.feedback = {type: "danger", text: outcomeMessage(info, null)};
        }
    }

    // ------------------------------------------------------------------- queues
    async connect(queue) {
        return this._dialCode(queue, true);
    }

    async disconnect(queue) {
        return this._dialCode(queue, false);
    }

    async _dialCode(queue, connect) {
        if (queue.member_type === "static" || queue.pending) {
            return;
        }
        if (this.sip) {
            await this._dialCodeSip(queue, connect);
            return;
        }
        queue.pending = connect ? "connecting" : "disconnecting";
        queue.error = null;
        try {
            const info = await this.orm.call(
                SOFTPHONE,
                connect ? "connect" : "disconnect",
                [queue.member_id]
            );
            this.showCall(info);
            this._applyCodeOutcome(queue, connect, info);
        } catch (error) {
            queue.pending = false;
            queue.error = errorMessage(error);
        }
    }

    /**
     * What the PBX said when a queue code was dialed. A login/logout that worked stays
     * pending until the PBX event arrives through the bus; anything else leaves the row
     * as it was and says why.
     */
    _applyCodeOutcome(queue, connect, info) {
        const expected = connect ? "logged_in" : "logged_out";
        if (info.outcome === expected) {
            queue.pending = connect ? "connecting" : "disconnecting";
            queue.error = null;
            this._startPendingTimer(queue);
            return;
        }
        queue.pending = false;
        if (
            info.outcome === "already_logged_in" ||
            info.outcome === "already_logged_out"
        ) {
            // Odoo was behind the PBX: read the truth again.
            this.feedback = {type: "info", text: outcomeMessage(info, queue)};
            this.load();
            return;
        }
        queue.error = outcomeMessage(info, queue);
    }

    _startPendingTimer(queue) {
        this._clearPendingTimer(queue.member_id);
        this._pendingTimers[queue.member_id] = browser.setTimeout(() => {
            delete this._pendingTimers[queue.member_id];
            const current = this.queueByMember(queue.member_id);
            if (current && current.pending) {
                this.load();
            }
        }, PENDING_TIMEOUT);
    }

    _clearPendingTimer(memberId) {
        if (this._pendingTimers[memberId]) {
            browser.clearTimeout(this._pendingTimers[memberId]);
            delete this._pendingTimers[memberId];
        }
    }

    /** "Disconnect from all my queues", at the end of the day. */
    async disconnectAll() {
        const queues = this.queues.filter(
            (queue) =>
                queue.member_type === "dynamic" && queue.connected && !queue.pending
        );
        if (!queues.length || this.disconnectingAll) {
            return;
        }
        if (this.sip) {
            await this._disconnectAllSip(queues);
            return;
        }
        this.disconnectingAll = true;
        this.feedback = null;
        for (const queue of queues) {
            queue.pending = "disconnecting";
            queue.error = null;
        }
        try {
            const infos = await this.orm.call(SOFTPHONE, "disconnect_all", []);
            const seen = new Set();
            for (const info of infos) {
                const queue = this.queueByMember(info.member_id);
                if (!queue) {
                    continue;
                }
                seen.add(queue.member_id);
                if (info.state === "error") {
                    queue.pending = false;
                    queue.error = info.message;
                } else {
                    this._applyCodeOutcome(queue, false, info);
                }
            }
            for (const queue of queues) {
                if (!seen.has(queue.member_id) && queue.pending === "disconnecting") {
                    queue.pending = false;
                }
            }
        } catch (error) {
            for (const queue of queues) {
                queue.pending = false;
            }
            this.feedback = {type: "danger", text: errorMessage(error)};
        } finally {
            this.disconnectingAll = false;
        }
    }
}

/**
 * The phone in the browser (sip_user_agent.js): with a SIP account, the softphone
 * registers on the PBX, and its calls (the pad, Connect / Disconnect) leave from the
 * browser instead of the PBX API.
 */
Object.assign(Softphone.prototype, {
    /** The SIP account of the softphone's state: start, restart or stop the phone. */
    _setupSip(account) {
        // Odoo's own VoIP widget is the phone in this browser when it is installed: a
        // second SIP registration of the same account would take its calls away.
        const config = session.axivox_phone_widget ? null : account;
        const same = JSON.stringify(config) === JSON.stringify(this._sipConfig);
        if (same && (!config || this._sipAgent)) {
            return;
        }
        this._stopSip();
        this._sipConfig = config;
        if (!config) {
            return;
        }
        this.sip = {status: "connecting", error: null, login: config.login};
        this._startSip();
    },

    _startSip() {
        let agent = null;
        const listener = {
            onStatus: (status, error) => {
                if (this.sip && this._sipAgent === agent) {
                    this.sip.status = status;
                    this.sip.error = error;
                }
            },
            onCall: (id, update) => this._onSipCall(id, update),
            onIncoming: (id, caller) => this._onSipIncoming(id, caller),
        };
        agent = markRaw(new SipUserAgent(this._sipConfig, listener));
        this._sipAgent = agent;
        agent.start();
    },

    _stopSip() {
        if (this._sipAgent) {
            this._sipAgent.stop();
            this._sipAgent = null;
        }
        this.sip = null;
    },

    /** The Retry of the SIP line: register again. */
    retrySip() {
        if (!this._sipConfig) {
            return;
        }
        if (this._sipAgent) {
            this._sipAgent.stop();
        }
        this.sip = {status: "connecting", error: null, login: this._sipConfig.login};
        this._startSip();
    },

    /** Why a call cannot leave from the browser now (null: it can). */
    _sipNotReady() {
        if (this.sip.status === "registered") {
            return null;
        }
        if (this.sip.error) {
            return this.sip.error;
        }
        return {
            code: "connecting",
            text: _t("Your phone is not registered on the PBX yet."),
            hint: _t("Wait a moment, then call again."),
        };
    },

    /** Call ``number`` from the browser; the call's id when it leaves, else false. */
    async _dialSip(number, queue = null) {
        if (this.calling) {
            return false;
        }
        const problem =
            this._sipNotReady() ||
            (this.inCall && {
                text: _t("You are already in a call."),
                hint: _t("Hang up first."),
            });
        if (problem) {
            this._sipProblem(problem, queue);
            return false;
        }
        this.calling = true;
        this.feedback = null;
        try {
            const id = await this._sipAgent.call(number);
            this.showCall({
                ...this._sipCallInfo(id, number),
                member_id: queue ? queue.member_id : false,
            });
            return id;
        } catch (error) {
            this._sipProblem(
                error && error.text ? error : sipError("refused", error),
                queue
            );
            return false;
        } finally {
            this.calling = false;
        }
    },

    _sipProblem(problem, queue) {
        const text = `${problem.text} ${problem.hint || ""}`.trim();
        if (queue) {
            queue.error = text;
        } else {
            this.feedback = {type: "danger", text};
        }
    },

    _sipCallInfo(id, to) {
        return {id, from: this.extension, to, state: "dialing", sip: true};
    },

    /**
     * Connect / Disconnect over SIP: dial the queue's code from the browser. The row
     * stays pending until the PBX's event arrives through the bus (or the fallback
     * timer reads the state again).
     */
    async _dialCodeSip(queue, connect) {
        const code = connect ? queue.login_code : queue.logout_code;
        queue.pending = connect ? "connecting" : "disconnecting";
        queue.error = null;
        await this._noteSipCode(queue, connect);
        const id = await this._dialSip(code, queue);
        if (!id) {
            queue.pending = false;
            return null;
        }
        this._startPendingTimer(queue);
        return id;
    },

    /**
     * Tell Odoo that the softphone dials this code, before it is dialed: the agent
     * sessions then say the PBX's event came from the softphone, as when the PBX API
     * dials it, however fast the event comes. Only when the call can leave (registered,
     * not in a call, the microphone allowed); a failure to tell is not shown (the
     * session's source is a record, not the call).
     */
    async _noteSipCode(queue, connect) {
        if (this._sipNotReady() || this.inCall || this.calling) {
            return;
        }
        try {
            await this._sipAgent._ensureMicrophone();
            await this.orm.silent.call(SOFTPHONE, "note_sip_code", [
                queue.member_id,
                connect,
            ]);
        } catch {
            // _dialSip says what is wrong with the call
        }
    },

    /** A promise that resolves when the SIP call ``id`` is over (or at once if it is). */
    _sipCallOver(id) {
        if (!this.call || this.call.id !== id || CALL_OVER.includes(this.call.state)) {
            return Promise.resolve();
        }
        return new Promise((resolve) => {
            this._sipWaiters[id] = resolve;
        });
    },

    /**
     * "Disconnect from all my queues" over SIP: the phone in the browser dials the
     * disconnection code of each queue in turn, one call at a time (the PBX has no code
     * that logs an agent out of all her queues). A queue whose code fails says why on
     * its row, the others go on.
     */
    async _disconnectAllSip(queues) {
        this.disconnectingAll = true;
        this.feedback = null;
        try {
            for (const queue of queues) {
                const id = await this._dialCodeSip(queue, false);
                if (id) {
                    await this._sipCallOver(id);
                }
            }
        } finally {
            this.disconnectingAll = false;
        }
    },

    /** A change of the current SIP call. */
    _onSipCall(id, update) {
        if (CALL_OVER.includes(update.state) && this._sipWaiters[id]) {
            this._sipWaiters[id]();
            delete this._sipWaiters[id];
        }
        if (!this.call || this.call.id !== id || CALL_OVER.includes(this.call.state)) {
            return;
        }
        const call = {...this.call, state: update.state};
        if (update.reason) {
            call.message = update.reason;
        }
        this.showCall(call);
        if (
            update.state === "answered" &&
            !call.incoming &&
            !call.member_id &&
            !this.queues.some((q) => [q.login_code, q.logout_code].includes(call.to))
        ) {
            // A number she called answered: its open callback is closed, as when the
            // PBX API places the call.
            this.orm.silent
                .call(SOFTPHONE, "sip_call_answered", [call.to])
                .catch(() => undefined);
        }
        if (update.state === "failed" && call.member_id) {
            const queue = this.queueByMember(call.member_id);
            if (queue && queue.pending) {
                this._clearPendingTimer(queue.member_id);
                queue.pending = false;
                queue.error = _t("The PBX refused the code %s.", call.to);
            }
        }
    },

    /** A call rings in the browser: show it, the panel opens. */
    _onSipIncoming(id, caller) {
        this.showCall({
            id,
            from: caller.number,
            to: this.extension,
            name: caller.name,
            state: "incoming",
            incoming: true,
            sip: true,
        });
        this.open();
    },

    async answer() {
        if (!this.call || this.call.state !== "incoming") {
            return;
        }
        try {
            await this._sipAgent.answer();
        } catch (error) {
            this._sipProblem(error && error.text ? error : sipError("refused", error));
        }
    },

    async decline() {
        if (this.call && this.call.state === "incoming") {
            await this._sipAgent.decline();
        }
    },
});

export const softphoneService = {
    dependencies: ["orm", "bus_service", "user"],
    start(env, services) {
        const softphone = reactive(new Softphone(env, services));
        if (softphone.hasExtension) {
            services.bus_service.subscribe(MEMBER_STATE_NOTIFICATION, (payload) =>
                softphone.onMemberState(payload)
            );
            // The badge needs the login state from the start.
            softphone.load();
            // The phone in the browser leaves the PBX with the tab.
            browser.addEventListener("pagehide", () => softphone._stopSip());
        }
        return softphone;
    },
};

registry.category("services").add("voip_axivox_queue.softphone", softphoneService);
