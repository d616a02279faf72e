/** @odoo-module **/

import {_t} from "@web/core/l10n/translation";
import {browser} from "@web/core/browser/browser";
import {loadJS} from "@web/core/assets";

/**
 * The phone in the browser: a SIP user agent (SIP.js, vendored in static/lib/sipjs and
 * loaded only for users who have a SIP account) that registers on the PBX over its
 * WebSocket, places calls (a number, a queue's code) and answers them. The softphone
 * service (softphone_service.js) owns one and shows what it reports.
 */

export const SIPJS_URL = "/voip_axivox_queue/static/lib/sipjs/sip.min.js";

/** How long a registration lasts before SIP.js renews it (seconds). */
export const REGISTER_EXPIRES = 300;

/**
 * When the WebSocket drops (or cannot be opened), the phone registers again by itself
 * after these delays (seconds), the last one repeated: a PBX that restarts is not
 * flooded, a network that comes back is used within half a minute.
 */
export const RECONNECT_DELAYS = [1, 2, 4, 8, 15, 30];

/**
 * What the user agent takes from the browser: SIP.js itself, the microphone, the
 * speaker. One object, so that the QUnit tests can give a fake SIP and microphone.
 */
export const sipBrowser = {
    async loadSip() {
        if (!window.SIP) {
            await loadJS(SIPJS_URL);
        }
        return window.SIP;
    },
    getMicrophone() {
        if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
            return Promise.reject(
                new DOMException("no media devices", "NotFoundError")
            );
        }
        return navigator.mediaDevices.getUserMedia({audio: true, video: false});
    },
    /** The timers of the user agent (the QUnit tests run them by hand). */
    schedule(fn, delay) {
        return browser.setTimeout(fn, delay);
    },
    cancel(handle) {
        browser.clearTimeout(handle);
    },
    /**
     * The ring of a call that comes in: a short generated tone (WebAudio, 425 Hz, one
     * second on, three off) until the returned function is called. Nothing when the
     * browser has no WebAudio or does not let the page play sound yet.
     */
    ring() {
        const AudioContext = window.AudioContext || window.webkitAudioContext;
        if (!AudioContext) {
            return () => undefined;
        }
        let context = null;
        try {
            context = new AudioContext();
            const oscillator = context.createOscillator();
            const gain = context.createGain();
            oscillator.frequency.value = 425;
            gain.gain.value = 0;
            const start = context.currentTime;
            // A minute of rings is scheduled at once; the caller rarely waits longer
            for (let second = 0; second < 60; second += 4) {
                gain.gain.setValueAtTime(0.2, start + second);
                gain.gain.setValueAtTime(0, start + second + 1);
            }
            oscillator.connect(gain).connect(context.destination);
            oscillator.start();
        } catch {
            return () => undefined;
        }
        return () => context.close().catch(() => undefined);
    },
    /** Play the other side of an established call. */
    playRemote(session) {
        const handler = session.sessionDescriptionHandler;
        const connection = handler && handler.peerConnection;
        if (!connection) {
            return;
        }
        const stream = new MediaStream();
        for (const receiver of connection.getReceivers()) {
            if (receiver.track) {
                stream.addTrack(receiver.track);
            }
        }
        if (!this.audio) {
            this.audio = new Audio();
            this.audio.autoplay = true;
        }
        this.audio.srcObject = stream;
        this.audio.play().catch(() => undefined);
    },
};

/**
 * Why the phone does not work, and what to do: ``{code, text, hint}``. Codes: "auth"
 * (login or password refused), "websocket" (the PBX cannot be reached), "microphone"
 * (no permission), "refused" (another SIP answer), "library" (SIP.js did not load).
 */
export function sipError(code, detail = "") {
    switch (code) {
        case "auth":
            return {
                code,
                text: _t("The PBX refused your SIP login or password."),
                hint: _t(
                    "Check them in your preferences (SIP Login and Password), or ask your administrator for the right ones."
                ),
            };
        case "websocket":
            return {
                code,
                text: _t("The PBX cannot be reached at %s.", detail),
                hint: _t(
                    "Check your network connection, then click Retry. If it lasts, ask your administrator to check the SIP WebSocket URL of the PBX account."
                ),
            };
        case "microphone":
            return {
                code,
                text: _t("Your browser does not let Odoo use the microphone."),
                hint: _t(
                    "Allow the microphone for this site in your browser (the icon in the address bar), then call again."
                ),
            };
        case "library":
            return {
                code,
                text: _t("The phone of the browser could not be loaded."),
                hint: _t("Reload the page. If it lasts, ask your administrator."),
            };
        default:
            return {
                code: "refused",
                text: _t("The PBX refused the registration: %s.", detail),
                hint: _t(
                    "Click Retry. If it lasts, ask your administrator to check your SIP account."
                ),
            };
    }
}

/** The SIP answer of a refused request, as "403 Forbidden". */
function responseText(response) {
    const message = response && response.message;
    return message ? `${message.statusCode} ${message.reasonPhrase || ""}`.trim() : "";
}

function statusCode(response) {
    return (response && response.message && response.message.statusCode) || 0;
}

/**
 * One SIP account registered from this tab. ``listener`` hears everything:
 * ``onStatus(status, error)`` ("connecting", "registered", "unregistered", "error"),
 * ``onCall(id, {state, reason})`` for the calls ("dialing", "ringing", "answered",
 * "ended", "failed") and ``onIncoming(id, {number, name})`` for a call that rings.
 */
export class SipUserAgent {
    constructor(config, listener) {
        this.config = config;
        this.listener = listener;
        this.SIP = null;
        this.ua = null;
        this.registerer = null;
        this.status = "unregistered";
        this.error = null;
        /** The current call: {id, session, incoming}. One at a time. */
        this.current = null;
        this._nextId = 1;
        this._microphone = null;
        this._stopped = false;
        /** Registrations again after a drop since the last success, and the timer. */
        this._attempts = 0;
        this._retryTimer = null;
    }

    _setStatus(status, error = null) {
        this.status = status;
        this.error = error;
        this.listener.onStatus(status, error);
    }

    /**
     * The WebSocket dropped or could not be opened: say so, and register again by
     * itself after the next delay of RECONNECT_DELAYS (the panel says when).
     */
    _lost(server) {
        if (this._stopped) {
            return;
        }
        const delays = RECONNECT_DELAYS;
        const delay = delays[Math.min(this._attempts, delays.length - 1)];
        this._attempts++;
        this._setStatus("error", {
            ...sipError("websocket", server),
            retry: _t("Trying again by itself in %s s.", delay),
            retryIn: delay,
        });
        this._cancelRetry();
        this._retryTimer = sipBrowser.schedule(() => {
            this._retryTimer = null;
            if (!this._stopped) {
                this._restart();
            }
        }, delay * 1000);
    }

    _cancelRetry() {
        if (this._retryTimer !== null) {
            sipBrowser.cancel(this._retryTimer);
            this._retryTimer = null;
        }
    }

    /** Drop the user agent that lost its WebSocket and start a new one. */
    async _restart() {
        const {ua} = this;
        this.ua = null;
        this.registerer = null;
        if (ua) {
            try {
                await ua.stop();
            } catch {
                // Stopped already
            }
        }
        if (!this._stopped) {
            await this.start({again: true});
        }
    }

    uri(user) {
        // "#" (a logout code) is not allowed as it is in a SIP URI's user part.
        const domain = this.config.domain;
        return this.SIP.UserAgent.makeURI(
            `sip:${String(user).replace(/#/g, "%23")}@${domain}`
        );
    }

    /**
     * Connect to the PBX's WebSocket and register; the status says how it went. ``again``:
     * a registration again after a drop (the back-off goes on until one succeeds).
     */
    async start({again = false} = {}) {
        this._stopped = false;
        if (!again) {
            this._attempts = 0;
        }
        this._setStatus("connecting");
        try {
            this.SIP = await sipBrowser.loadSip();
        } catch {
            this.SIP = null;
        }
        if (!this.SIP || this._stopped) {
            if (!this._stopped) {
                this._setStatus("error", sipError("library"));
            }
            return;
        }
        const {login, password, websocket_url: server} = this.config;
        const ua = new this.SIP.UserAgent({
            uri: this.uri(login),
            transportOptions: {server},
            authorizationUsername: login,
            authorizationPassword: password,
            logBuiltinEnabled: false,
            logLevel: "error",
            sessionDescriptionHandlerFactoryOptions: {
                iceGatheringTimeout: 500,
            },
            delegate: {
                onInvite: (invitation) => this._onInvite(invitation),
                onDisconnect: (error) => {
                    if (error && !this._stopped && this.ua === ua) {
                        this._lost(server);
                    }
                },
            },
        });
        this.ua = ua;
        try {
            await ua.start();
        } catch {
            if (this.ua === ua) {
                this._lost(server);
            }
            return;
        }
        if (this._stopped) {
            return;
        }
        const registerer = new this.SIP.Registerer(ua, {expires: REGISTER_EXPIRES});
        this.registerer = registerer;
        registerer.stateChange.addListener((state) => {
            if (this._stopped || this.registerer !== registerer) {
                return;
            }
            if (state === this.SIP.RegistererState.Registered) {
                this._attempts = 0;
                this._setStatus("registered");
            } else if (
                state === this.SIP.RegistererState.Unregistered &&
                this.status !== "error"
            ) {
                this._setStatus("unregistered");
            }
        });
        try {
            await registerer.register({
                requestDelegate: {
                    onReject: (response) => {
                        const code = statusCode(response);
                        this._setStatus(
                            "error",
                            [401, 403, 407].includes(code)
                                ? sipError("auth")
                                : sipError("refused", responseText(response))
                        );
                    },
                },
            });
        } catch {
            if (this.ua === ua) {
                this._lost(server);
            }
        }
    }

    /** Unregister and disconnect (the tab closes, the SIP account changed). */
    async stop() {
        this._stopped = true;
        this._cancelRetry();
        const {ua, registerer} = this;
        this.ua = null;
        this.registerer = null;
        this.current = null;
        if (!ua) {
            return;
        }
        try {
            if (
                registerer &&
                registerer.state === this.SIP.RegistererState.Registered
            ) {
                await registerer.unregister();
            }
        } catch {
            // Gone already: the registration expires on the PBX by itself
        }
        try {
            await ua.stop();
        } catch {
            // Stopped already
        }
    }

    /** Ask for the microphone once; later calls reuse the permission. */
    async _ensureMicrophone() {
        if (!this._microphone) {
            this._microphone = sipBrowser.getMicrophone().then((stream) => {
                for (const track of (stream && stream.getTracks()) || []) {
                    track.stop();
                }
                return true;
            });
            // A refusal is asked again at the next call (she may have allowed it since)
            this._microphone.catch(() => {
                this._microphone = null;
            });
        }
        try {
            await this._microphone;
        } catch {
            throw sipError("microphone");
        }
    }

    /**
     * Call ``target`` (a number or a code) from the browser; the call's id. Throws
     * ``sipError`` when the microphone is refused.
     */
    async call(target) {
        await this._ensureMicrophone();
        const SIP = this.SIP;
        const id = `sip-${this._nextId++}`;
        const inviter = new SIP.Inviter(this.ua, this.uri(target), {
            sessionDescriptionHandlerOptions: {
                constraints: {audio: true, video: false},
            },
        });
        this.current = {id, session: inviter, incoming: false};
        this._follow(id, inviter);
        this.listener.onCall(id, {state: "dialing"});
        inviter
            .invite({
                requestDelegate: {
                    onProgress: (response) => {
                        if ([180, 183].includes(statusCode(response))) {
                            this._report(id, {state: "ringing"});
                        }
                    },
                    onReject: (response) => {
                        this._report(id, {
                            state: "failed",
                            reason: responseText(response),
                        });
                    },
                },
            })
            .catch(() => this._report(id, {state: "failed"}));
        return id;
    }

    /** The calls' state as SIP.js has it: answered, then ended. */
    _follow(id, session) {
        const {SessionState} = this.SIP;
        session.stateChange.addListener((state) => {
            if (state === SessionState.Established) {
                sipBrowser.playRemote(session);
                this._report(id, {state: "answered"});
            } else if (state === SessionState.Terminated) {
                this._report(id, {state: "ended"});
                if (this.current && this.current.id === id) {
                    this.current = null;
                }
            }
        });
    }

    _report(id, update) {
        this.listener.onCall(id, update);
    }

    _onInvite(invitation) {
        if (this.current) {
            // One call at a time: the PBX tries another agent (busy here)
            invitation.reject({statusCode: 486}).catch(() => undefined);
            return;
        }
        const id = `sip-${this._nextId++}`;
        this.current = {id, session: invitation, incoming: true};
        this._follow(id, invitation);
        // It rings until answered, declined or given up by the caller
        const stopRing = sipBrowser.ring();
        invitation.stateChange.addListener((state) => {
            if (state !== this.SIP.SessionState.Initial) {
                stopRing();
            }
        });
        const identity = invitation.remoteIdentity || {};
        this.listener.onIncoming(id, {
            number: (identity.uri && identity.uri.user) || "",
            name: identity.displayName || "",
        });
    }

    /** Answer the call that rings. */
    async answer() {
        const current = this.current;
        if (!current || !current.incoming) {
            return;
        }
        await this._ensureMicrophone();
        await current.session.accept({
            sessionDescriptionHandlerOptions: {
                constraints: {audio: true, video: false},
            },
        });
    }

    /** Decline the call that rings. */
    async decline() {
        const current = this.current;
        if (current && current.incoming) {
            this.current = null;
            await current.session.reject({statusCode: 603});
            this._report(current.id, {state: "ended"});
        }
    }

    /** Hang up the current call, whatever its state (cancel, decline, bye). */
    async hangup() {
        const current = this.current;
        if (!current) {
            return;
        }
        const {SessionState} = this.SIP;
        const session = current.session;
        if (session.state === SessionState.Established) {
            await session.bye();
        } else if (current.incoming) {
            await this.decline();
        } else if (
            session.state === SessionState.Initial ||
            session.state === SessionState.Establishing
        ) {
            await session.cancel();
        }
    }
}
