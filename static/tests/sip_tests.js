/** @odoo-module **/

// The phone in the browser (sip_user_agent.js) as the softphone shows it: registration,
// Its errors and what to do, calls from the pad and the queues' buttons, incoming calls.
// SIP.js itself is replaced by a fake SIP (window.SIP's shape): the tests play the PBX.

import {
    MEMBER_STATE_NOTIFICATION,
    PENDING_TIMEOUT,
} from "@voip_axivox_queue/softphone/softphone_service";
import {
    UID,
    mountSoftphone,
    notifyBus,
    openSoftphone,
    queueRow,
    setupSoftphone,
    textOf,
} from "./axivox_test_utils";
import {
    click,
    editInput,
    getFixture,
    nextTick,
    patchWithCleanup,
} from "@web/../tests/helpers/utils";
import {browser} from "@web/core/browser/browser";
import {contactCentreService} from "@voip_axivox_queue/softphone_contact/contact_centre_service";
import {registry} from "@web/core/registry";
import {session} from "@web/session";
import {sipBrowser} from "@voip_axivox_queue/softphone/sip_user_agent";

const WSS = "wss://pabx.example.com:3443";

/** A fake of SIP.js 0.21: what the user agent uses of it, driven by the tests. */
function makeFakeSip() {
    const fake = {agents: [], registerers: [], inviters: [], startError: null};
    class Emitter {
        constructor() {
            this.listeners = [];
        }
        addListener(listener) {
            this.listeners.push(listener);
        }
        emit(value) {
            for (const listener of this.listeners) {
                listener(value);
            }
        }
    }
    const RegistererState = {
        Initial: "Initial",
        Registered: "Registered",
        Unregistered: "Unregistered",
    };
    const SessionState = {
        Initial: "Initial",
        Establishing: "Establishing",
        Established: "Established",
        Terminating: "Terminating",
        Terminated: "Terminated",
    };
    class UserAgent {
        static makeURI(text) {
            return {text, user: decodeURIComponent(text.slice(4).split("@")[0])};
        }
        constructor(options) {
            this.options = options;
            fake.agents.push(this);
        }
        async start() {
            if (fake.startError) {
                throw new Error(fake.startError);
            }
            this.started = true;
        }
        async stop() {
            this.stopped = true;
        }
    }
    class Registerer {
        constructor(ua, options) {
            this.ua = ua;
            this.options = options;
            this.state = RegistererState.Initial;
            this.stateChange = new Emitter();
            fake.registerers.push(this);
        }
        register(options) {
            this.registerOptions = options;
            return Promise.resolve();
        }
        accept() {
            this.state = RegistererState.Registered;
            this.stateChange.emit(this.state);
        }
        reject(statusCode, reasonPhrase) {
            this.registerOptions.requestDelegate.onReject({
                message: {statusCode, reasonPhrase},
            });
            this.state = RegistererState.Unregistered;
            this.stateChange.emit(this.state);
        }
        async unregister() {
            this.state = RegistererState.Unregistered;
            this.stateChange.emit(this.state);
        }
    }
    class Session {
        constructor() {
            this.state = SessionState.Initial;
            this.stateChange = new Emitter();
        }
        setState(state) {
            this.state = state;
            this.stateChange.emit(state);
        }
        async bye() {
            this.byeSent = true;
            this.setState(SessionState.Terminated);
        }
    }
    class Inviter extends Session {
        constructor(ua, target, options) {
            super();
            this.target = target;
            this.options = options;
            fake.inviters.push(this);
        }
        invite(options) {
            this.inviteOptions = options;
            this.setState(SessionState.Establishing);
            return Promise.resolve();
        }
        progress(statusCode) {
            this.inviteOptions.requestDelegate.onProgress({message: {statusCode}});
        }
        refuse(statusCode, reasonPhrase) {
            this.inviteOptions.requestDelegate.onReject({
                message: {statusCode, reasonPhrase},
            });
            this.setState(SessionState.Terminated);
        }
        async cancel() {
            this.cancelled = true;
            this.setState(SessionState.Terminated);
        }
    }
    class Invitation extends Session {
        constructor(number, displayName) {
            super();
            this.remoteIdentity = {uri: {user: number}, displayName};
        }
        async accept(options) {
            this.acceptOptions = options;
            this.setState(SessionState.Established);
        }
        async reject(options) {
            this.rejected = options.statusCode;
            this.setState(SessionState.Terminated);
        }
    }
    fake.SIP = {UserAgent, Registerer, Inviter, RegistererState, SessionState};
    /** A call from ``number`` reaches the browser. */
    fake.ring = (number, name = "") => {
        const invitation = new Invitation(number, name);
        fake.agents.at(-1).options.delegate.onInvite(invitation);
        return invitation;
    };
    return fake;
}

function sipState() {
    return {
        extension: "102",
        queues: [
            {
                member_id: 13,
                queue_id: 3,
                name: "Billing",
                extension: "620",
                login_code: "*620",
                logout_code: "#620",
                member_type: "dynamic",
                connected: false,
                connected_since: false,
                connected_count: 0,
            },
        ],
        connected_queue_count: 0,
        sip: {
            websocket_url: WSS,
            domain: "pabx.example.com",
            login: "102",
            password: "sofia-sip-secret",
        },
    };
}

let target = null;
let calls = [];
let handlers = {};
let busCallbacks = {};
let fake = null;
let microphone = null;
let microphoneAsked = 0;
let timeouts = [];
let scheduled = [];
let rings = [];

async function settle() {
    for (let i = 0; i < 5; i++) {
        await nextTick();
    }
}

async function startOpen() {
    await mountSoftphone(target, calls, handlers);
    await openSoftphone(target);
    await settle();
}

function sipLine() {
    const el = target.querySelector(".o_axivox_sip_status");
    return el ? el.textContent.replace(/\s+/g, " ").trim() : null;
}

function callStatus() {
    const el = target.querySelector(".o_axivox_call_status");
    return el ? el.textContent : null;
}

function serverCalls() {
    return calls
        .map((c) => c.key)
        .filter((key) => key !== "axivox.softphone/get_state");
}

async function registered() {
    await startOpen();
    fake.registerers[0].accept();
    await settle();
}

async function dial(number) {
    await editInput(target, ".o_axivox_dial_input", number);
    await click(target, ".o_axivox_dial_call");
    await settle();
}

QUnit.module("softphone: the phone in the browser (SIP)", (hooks) => {
    hooks.beforeEach(() => {
        target = getFixture();
        ({calls, busCallbacks} = setupSoftphone());
        handlers = {
            "axivox.softphone/get_state": () => sipState(),
            "axivox.softphone/note_sip_code": () => true,
            "axivox.softphone/sip_call_answered": () => true,
        };
        fake = makeFakeSip();
        microphone = () => Promise.resolve({getTracks: () => []});
        microphoneAsked = 0;
        timeouts = [];
        patchWithCleanup(sipBrowser, {
            loadSip: async () => fake.SIP,
            getMicrophone: () => {
                microphoneAsked++;
                return microphone();
            },
            playRemote: () => undefined,
            ring: () => () => undefined,
            // Registering again after a drop: the tests run the timers by hand
            schedule: (fn, delay) => scheduled.push({fn, delay, cancelled: false}) - 1,
            cancel: (handle) => {
                scheduled[handle].cancelled = true;
            },
        });
        scheduled = [];
        const {setTimeout, clearTimeout} = browser;
        patchWithCleanup(browser, {
            // The fallback read of the state is run by hand; other timers as usual
            setTimeout: (fn, delay, ...args) =>
                delay === PENDING_TIMEOUT
                    ? -timeouts.push({fn, delay})
                    : setTimeout(fn, delay, ...args),
            clearTimeout: (id) => (id < 0 ? undefined : clearTimeout(id)),
        });
    });

    QUnit.test("registers over the PBX's WebSocket and says so", async (assert) => {
        await startOpen();
        assert.strictEqual(sipLine(), "Connecting the phone to the PBX...");
        assert.strictEqual(fake.agents.length, 1);
        const options = fake.agents[0].options;
        assert.strictEqual(options.uri.text, "sip:102@pabx.example.com");
        assert.deepEqual(options.transportOptions, {server: WSS});
        assert.strictEqual(options.authorizationUsername, "102");
        assert.strictEqual(options.authorizationPassword, "sofia-sip-secret");
        fake.registerers[0].accept();
        await settle();
        assert.strictEqual(sipLine(), "Phone ready in the browser");
        assert.containsOnce(target, ".o_axivox_sip_status_registered");
        assert.containsNone(target, ".o_axivox_sip_retry");
    });

    QUnit.test("a refused password: what is wrong and what to do", async (assert) => {
        await startOpen();
        fake.registerers[0].reject(401, "Unauthorized");
        await settle();
        assert.containsOnce(target, ".o_axivox_sip_error");
        assert.strictEqual(
            textOf(target, ".o_axivox_sip_error"),
            "The PBX refused your SIP login or password."
        );
        assert.ok(
            textOf(target, ".o_axivox_sip_hint").includes(
                "Check them in your preferences (SIP Login and Password)"
            )
        );
        // 403 says the same
        await click(target, ".o_axivox_sip_retry");
        await settle();
        fake.registerers[1].reject(403, "Forbidden");
        await settle();
        assert.strictEqual(
            textOf(target, ".o_axivox_sip_error"),
            "The PBX refused your SIP login or password."
        );
        // No call leaves while the phone is not registered, none through the API
        await dial("*620");
        assert.strictEqual(fake.inviters.length, 0);
        assert.deepEqual(serverCalls(), []);
        assert.ok(
            textOf(target, ".o_axivox_softphone_feedback").includes(
                "The PBX refused your SIP login or password."
            )
        );
    });

    QUnit.test(
        "the WebSocket cannot be reached: Retry, then registered",
        async (assert) => {
            fake.startError = "WebSocket closed";
            await startOpen();
            assert.strictEqual(
                textOf(target, ".o_axivox_sip_error"),
                `The PBX cannot be reached at ${WSS}.`
            );
            assert.ok(
                textOf(target, ".o_axivox_sip_hint").startsWith(
                    "Check your network connection, then click Retry."
                )
            );
            fake.startError = null;
            await click(target, ".o_axivox_sip_retry");
            await settle();
            fake.registerers[0].accept();
            await settle();
            assert.strictEqual(sipLine(), "Phone ready in the browser");
            // The WebSocket drops later
            fake.agents.at(-1).options.delegate.onDisconnect(new Error("closed"));
            await settle();
            assert.strictEqual(
                textOf(target, ".o_axivox_sip_error"),
                `The PBX cannot be reached at ${WSS}.`
            );
        }
    );

    QUnit.test(
        "the WebSocket drops: the phone registers again by itself, backing off",
        async (assert) => {
            await registered();
            fake.agents[0].options.delegate.onDisconnect(new Error("closed"));
            await settle();
            assert.strictEqual(
                textOf(target, ".o_axivox_sip_error"),
                `The PBX cannot be reached at ${WSS}.`
            );
            assert.strictEqual(
                textOf(target, ".o_axivox_sip_retry_in"),
                "Trying again by itself in 1 s."
            );
            assert.deepEqual(
                scheduled.map((t) => t.delay),
                [1000]
            );
            // The PBX is still away: the next try waits longer
            fake.startError = "WebSocket closed";
            scheduled.at(-1).fn();
            await settle();
            assert.strictEqual(fake.agents.length, 2, "a new user agent");
            assert.ok(fake.agents[0].stopped, "the old one is stopped");
            assert.strictEqual(
                textOf(target, ".o_axivox_sip_retry_in"),
                "Trying again by itself in 2 s."
            );
            scheduled.at(-1).fn();
            await settle();
            assert.deepEqual(
                scheduled.map((t) => t.delay),
                [1000, 2000, 4000]
            );
            // Back: registered again, and the next drop starts from 1 s again
            fake.startError = null;
            scheduled.at(-1).fn();
            await settle();
            assert.strictEqual(fake.agents.length, 4);
            fake.registerers.at(-1).accept();
            await settle();
            assert.strictEqual(sipLine(), "Phone ready in the browser");
            assert.containsNone(target, ".o_axivox_sip_retry_in");
            // A drop reported by an agent already replaced changes nothing
            fake.agents[0].options.delegate.onDisconnect(new Error("late"));
            await settle();
            assert.strictEqual(sipLine(), "Phone ready in the browser");
            fake.agents.at(-1).options.delegate.onDisconnect(new Error("closed"));
            await settle();
            assert.strictEqual(scheduled.at(-1).delay, 1000);
            // Retry by hand: the timer is dropped, one new registration
            await click(target, ".o_axivox_sip_retry");
            await settle();
            assert.ok(scheduled.at(-1).cancelled);
            assert.strictEqual(fake.agents.length, 5);
            fake.registerers.at(-1).accept();
            await settle();
            assert.strictEqual(sipLine(), "Phone ready in the browser");
        }
    );

    QUnit.test("another refusal of the PBX is said with its code", async (assert) => {
        await startOpen();
        fake.registerers[0].reject(503, "Service Unavailable");
        await settle();
        assert.strictEqual(
            textOf(target, ".o_axivox_sip_error"),
            "The PBX refused the registration: 503 Service Unavailable."
        );
        assert.ok(textOf(target, ".o_axivox_sip_hint").startsWith("Click Retry."));
    });

    QUnit.test(
        "no microphone permission: what is wrong and what to do",
        async (assert) => {
            microphone = () =>
                Promise.reject(new DOMException("denied", "NotAllowedError"));
            await registered();
            await dial("0499123456");
            assert.strictEqual(fake.inviters.length, 0);
            assert.strictEqual(
                textOf(target, ".o_axivox_softphone_feedback"),
                "Your browser does not let Odoo use the microphone. Allow the microphone for this site in your browser (the icon in the address bar), then call again."
            );
            // Allowed since: asked again, the call leaves
            microphone = () => Promise.resolve({getTracks: () => []});
            await dial("0499123456");
            assert.strictEqual(fake.inviters.length, 1);
            assert.strictEqual(microphoneAsked, 2);
        }
    );

    QUnit.test(
        "the pad calls from the browser; the panel follows SIP",
        async (assert) => {
            await registered();
            await dial("0499123456");
            assert.strictEqual(fake.inviters.length, 1);
            const inviter = fake.inviters[0];
            assert.strictEqual(inviter.target.user, "0499123456");
            assert.deepEqual(
                inviter.options.sessionDescriptionHandlerOptions.constraints,
                {
                    audio: true,
                    video: false,
                }
            );
            assert.strictEqual(callStatus(), "Calling 0499123456...");
            inviter.progress(180);
            await settle();
            assert.strictEqual(callStatus(), "Ringing 0499123456...");
            inviter.setState("Established");
            await settle();
            assert.strictEqual(callStatus(), "In call with 0499123456");
            // Answered: Odoo closes the open callback of that number
            assert.deepEqual(
                calls
                    .filter((c) => c.key === "axivox.softphone/sip_call_answered")
                    .map((c) => c.args),
                [["0499123456"]]
            );
            await click(target, ".o_axivox_dial_hangup");
            await settle();
            assert.ok(inviter.byeSent);
            assert.strictEqual(callStatus(), "Call ended");
            // A second call: the microphone was asked once
            await dial("0499123457");
            await click(target, ".o_axivox_dial_hangup");
            await settle();
            assert.ok(
                fake.inviters[1].cancelled,
                "a call not answered yet is cancelled"
            );
            assert.strictEqual(microphoneAsked, 1);
            assert.deepEqual(
                serverCalls(),
                ["axivox.softphone/sip_call_answered"],
                "no call through the PBX API"
            );
        }
    );

    QUnit.test("Connect dials the queue's code from the browser", async (assert) => {
        const invitesWhenNoted = [];
        handlers["axivox.softphone/note_sip_code"] = () => {
            invitesWhenNoted.push(fake.inviters.length);
            return true;
        };
        await registered();
        const row = () => queueRow(target, "Billing");
        await click(row(), ".o_axivox_queue_connect");
        await settle();
        assert.strictEqual(fake.inviters.length, 1);
        assert.strictEqual(fake.inviters[0].target.user, "*620");
        assert.ok(row().classList.contains("o_axivox_queue_pending"));
        // Odoo is told: the agent sessions say the connection came from the softphone
        // (before the code is dialed, so that even a fast event of the PBX finds it)
        assert.deepEqual(calls.at(-1), {
            key: "axivox.softphone/note_sip_code",
            args: [13, true],
        });
        assert.deepEqual(invitesWhenNoted, [0]);
        fake.inviters[0].setState("Established");
        fake.inviters[0].setState("Terminated");
        await settle();
        // The PBX's event, through the bus, says she is connected
        await notifyBus(busCallbacks, MEMBER_STATE_NOTIFICATION, {
            member_id: 13,
            queue_id: 3,
            user_id: UID,
            connected: true,
            connected_since: "2024-03-04 09:00:00",
            connected_count: 1,
        });
        assert.notOk(row().classList.contains("o_axivox_queue_pending"));
        assert.containsOnce(row(), ".o_axivox_queue_disconnect");
        // Disconnect dials the logout code ("#" escaped in the SIP address)
        await click(row(), ".o_axivox_queue_disconnect");
        await settle();
        assert.strictEqual(fake.inviters[1].target.text, "sip:%23620@pabx.example.com");
        assert.strictEqual(fake.inviters[1].target.user, "#620");
        // The PBX refuses the code: the row says so
        fake.inviters[1].refuse(404, "Not Found");
        await settle();
        assert.notOk(row().classList.contains("o_axivox_queue_pending"));
        assert.ok(row().textContent.includes("The PBX refused the code #620."));
        assert.deepEqual(serverCalls(), [
            "axivox.softphone/note_sip_code",
            "axivox.softphone/note_sip_code",
        ]);
    });

    QUnit.test(
        "Disconnect from all my queues dials each code in turn from the browser",
        async (assert) => {
            handlers["axivox.softphone/get_state"] = () => {
                const state = sipState();
                const billing = {
                    ...state.queues[0],
                    connected: true,
                    connected_since: "2024-03-04 09:00:00",
                };
                state.queues = [
                    billing,
                    {
                        ...billing,
                        member_id: 14,
                        queue_id: 4,
                        name: "Sales",
                        extension: "610",
                        login_code: "*610",
                        logout_code: "#610",
                    },
                    {
                        ...billing,
                        member_id: 15,
                        queue_id: 5,
                        name: "Support",
                        extension: "630",
                        login_code: "*630",
                        logout_code: "#630",
                        connected: false,
                        connected_since: false,
                    },
                ];
                return state;
            };
            await registered();
            await click(target, ".o_axivox_disconnect_all");
            await settle();
            // One call at a time: the first code, and only it, until it is over
            assert.deepEqual(
                fake.inviters.map((i) => i.target.user),
                ["#620"]
            );
            assert.ok(
                queueRow(target, "Billing").classList.contains("o_axivox_queue_pending")
            );
            fake.inviters[0].setState("Established");
            fake.inviters[0].setState("Terminated");
            await settle();
            assert.deepEqual(
                fake.inviters.map((i) => i.target.user),
                ["#620", "#610"]
            );
            // The PBX refuses the second: its row says why; Support was not connected
            fake.inviters[1].refuse(404, "Not Found");
            await settle();
            assert.strictEqual(fake.inviters.length, 2);
            assert.ok(
                queueRow(target, "Sales").textContent.includes(
                    "The PBX refused the code #610."
                )
            );
            assert.ok(
                queueRow(target, "Billing").classList.contains("o_axivox_queue_pending")
            );
            assert.deepEqual(
                calls
                    .filter((c) => c.key !== "axivox.softphone/get_state")
                    .map((c) => [c.key, ...c.args]),
                [
                    ["axivox.softphone/note_sip_code", 13, false],
                    ["axivox.softphone/note_sip_code", 14, false],
                ],
                "no call through the PBX API (disconnect_all)"
            );
        }
    );

    QUnit.test(
        "Odoo's own VoIP widget installed: no second SIP registration",
        async (assert) => {
            patchWithCleanup(session, {axivox_phone_widget: "voip_oca"});
            await startOpen();
            assert.strictEqual(fake.agents.length, 0, "SIP.js is not even loaded");
            assert.containsNone(target, ".o_axivox_sip_status");
        }
    );

    QUnit.test(
        "without a SIP account, the PBX API places the calls",
        async (assert) => {
            handlers["axivox.softphone/get_state"] = () => ({
                ...sipState(),
                sip: false,
            });
            handlers["axivox.softphone/dial"] = ([number]) => ({
                id: "call-1",
                from: "102",
                to: number,
                state: "ringing",
                outcome: "ringing",
                message: null,
            });
            handlers["axivox.softphone/call_state"] = () => ({state: "ringing"});
            await startOpen();
            assert.containsNone(target, ".o_axivox_sip_status");
            await dial("0499123456");
            assert.strictEqual(fake.agents.length, 0, "SIP.js is not even loaded");
            assert.deepEqual(serverCalls().slice(0, 1), ["axivox.softphone/dial"]);
        }
    );
});

QUnit.module("softphone: a call rings in the browser", (hooks) => {
    hooks.beforeEach(() => {
        target = getFixture();
        ({calls, busCallbacks} = setupSoftphone());
        handlers = {
            "axivox.softphone/get_state": () => sipState(),
            "axivox.softphone/get_callbacks": () => ({callbacks: [], count: 0}),
            "axivox.softphone/caller_card": ([number]) => ({
                call_id: false,
                number,
                queue_name: "",
                history: [],
                partner: {
                    id: 42,
                    name: "Ada Lovelace",
                    company_id: false,
                    company_name: "",
                },
            }),
        };
        registry.category("services").add("action", {
            start() {
                return {doAction: () => undefined};
            },
        });
        registry
            .category("services")
            .add("voip_axivox_queue.contact_centre", contactCentreService);
        fake = makeFakeSip();
        microphoneAsked = 0;
        patchWithCleanup(sipBrowser, {
            loadSip: async () => fake.SIP,
            getMicrophone: () => {
                microphoneAsked++;
                return Promise.resolve({getTracks: () => []});
            },
            playRemote: () => undefined,
            schedule: () => 0,
            cancel: () => undefined,
            ring: () => {
                rings.push("ring");
                return () => rings.push("stop");
            },
        });
        rings = [];
    });

    function panelMustBeClosed() {
        if (target.querySelector(".o_axivox_softphone_panel")) {
            throw new Error("the panel should be closed before the call");
        }
    }

    async function ringing() {
        await mountSoftphone(target, calls, handlers);
        await settle();
        fake.registerers[0].accept();
        await settle();
        panelMustBeClosed();
        const invitation = fake.ring("+3225550100", "Ada");
        await settle();
        return invitation;
    }

    QUnit.test("rings, shows the caller and her card; answer", async (assert) => {
        const invitation = await ringing();
        assert.containsOnce(target, ".o_axivox_softphone_panel", "the panel opens");
        assert.deepEqual(rings, ["ring"], "it rings");
        assert.containsOnce(target, ".o_axivox_sip_incoming");
        assert.strictEqual(textOf(target, ".o_axivox_sip_caller"), "+3225550100");
        assert.strictEqual(callStatus(), "+3225550100 is calling you");
        assert.ok(
            calls.some(
                (c) =>
                    c.key === "axivox.softphone/caller_card" &&
                    c.args[0] === "+3225550100"
            )
        );
        assert.containsOnce(target, ".o_axivox_caller_card");
        assert.ok(textOf(target, ".o_axivox_caller_card").includes("Ada Lovelace"));
        await click(target, ".o_axivox_sip_answer");
        await settle();
        assert.deepEqual(invitation.acceptOptions.sessionDescriptionHandlerOptions, {
            constraints: {audio: true, video: false},
        });
        assert.containsNone(target, ".o_axivox_sip_incoming");
        assert.strictEqual(callStatus(), "In call with +3225550100");
        assert.deepEqual(rings, ["ring", "stop"], "answered: the ring stops");
        assert.strictEqual(microphoneAsked, 1);
        await click(target, ".o_axivox_dial_hangup");
        await settle();
        assert.ok(invitation.byeSent);
        assert.strictEqual(callStatus(), "Call ended");
    });

    QUnit.test("decline; a second call while in a call is busy", async (assert) => {
        const invitation = await ringing();
        await click(target, ".o_axivox_sip_decline");
        await settle();
        assert.strictEqual(invitation.rejected, 603);
        assert.deepEqual(rings, ["ring", "stop"], "declined: the ring stops");
        assert.containsNone(target, ".o_axivox_sip_incoming");
        assert.strictEqual(callStatus(), "Call ended");
        // In a call, another caller is told busy
        const second = fake.ring("+3225550101");
        await settle();
        await click(target, ".o_axivox_sip_answer");
        await settle();
        const third = fake.ring("+3225550102");
        await settle();
        assert.strictEqual(third.rejected, 486);
        assert.strictEqual(second.state, "Established");
        assert.strictEqual(callStatus(), "In call with +3225550101");
    });

    QUnit.test("calling back a callback leaves from the browser", async (assert) => {
        const callback = {
            id: 5,
            number: "+3225550100",
            partner_id: 42,
            partner_name: "Ada Lovelace",
            queue_id: 3,
            queue_name: "Billing",
            call_time: "2024-03-04 09:00:00",
            wait_time: 30,
            attempts: 1,
            state: "open",
            claimed_by_id: false,
            claimed_by_name: false,
        };
        handlers["axivox.softphone/get_callbacks"] = () => ({
            callbacks: [callback],
            count: 1,
        });
        handlers["axivox.softphone/claim_callback"] = ([id]) => ({
            callback_id: id,
            number: "+3225550100",
        });
        handlers["axivox.softphone/sip_call_answered"] = () => true;
        await mountSoftphone(target, calls, handlers);
        await openSoftphone(target);
        await settle();
        fake.registerers[0].accept();
        await settle();
        await click(target, ".o_axivox_callback_call");
        await settle();
        assert.deepEqual(
            fake.inviters.map((i) => i.target.user),
            ["+3225550100"]
        );
        assert.strictEqual(callStatus(), "Calling +3225550100...");
        assert.ok(textOf(target, ".o_axivox_caller_card").includes("Ada Lovelace"));
        fake.inviters[0].setState("Established");
        await settle();
        const keys = calls.map((c) => c.key);
        assert.ok(keys.includes("axivox.softphone/claim_callback"));
        assert.ok(keys.includes("axivox.softphone/sip_call_answered"));
        assert.notOk(
            keys.includes("axivox.softphone/call_back"),
            "not through the API"
        );
    });

    QUnit.test("the caller hangs up before she answers", async (assert) => {
        const invitation = await ringing();
        invitation.setState("Terminated");
        await settle();
        assert.deepEqual(rings, ["ring", "stop"], "given up: the ring stops");
        assert.containsNone(target, ".o_axivox_sip_incoming");
        assert.strictEqual(callStatus(), "Call ended");
    });
});
