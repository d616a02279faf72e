/** @odoo-module **/

import {
    CALLBACKS_NOTIFICATION,
    MEMBER_STATE_NOTIFICATION,
    WALLBOARD_NOTIFICATION,
} from "@voip_axivox_queue/bus_notifications";
import {
    Component,
    onMounted,
    onWillStart,
    onWillUnmount,
    useRef,
    useState,
} from "@odoo/owl";
import {_t} from "@web/core/l10n/translation";
import {browser} from "@web/core/browser/browser";
import {registry} from "@web/core/registry";
import {useService} from "@web/core/utils/hooks";

export {WALLBOARD_NOTIFICATION};
/** The bus may be down: the data is read again this often, never more often. */
export const POLL_INTERVAL = 30000;
/** Waiting times tick every second in the browser (no server call). */
export const TICK_INTERVAL = 1000;
/** Bus notifications within this delay are read in one go. */
export const BUS_DELAY = 250;
const STORAGE_KEY = "voip_axivox_queue.wallboard.queue_ids";

/** "m:ss" (or "h:mm:ss") of a number of seconds. */
export function clock(total) {
    const seconds = Math.max(0, Math.floor(total));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = String(seconds % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function percent(ratio) {
    return `${Math.round((ratio || 0) * 100)} %`;
}

/** The live wallboard of the queues, for a TV: made to be read from three metres. */
export class Wallboard extends Component {
    static template = "voip_axivox_queue.Wallboard";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        // From the environment, not useService: the bus service is declared async, which
        // useService cannot wrap in Odoo 17 ("methods is not iterable").
        this.busService = this.env.services.bus_service;
        this.state = useState({
            queues: [],
            allQueues: [],
            selected: this._readSelection(),
            choosing: false,
            now: Date.now(),
            skew: 0,
            error: null,
            loaded: false,
            fullScreen: false,
        });
        this.root = useRef("root");
        this._onFullScreenChange = () => {
            this.state.fullScreen = Boolean(
                document.fullscreenElement &&
                    document.fullscreenElement === this.root.el
            );
        };
        document.addEventListener("fullscreenchange", this._onFullScreenChange);
        onWillUnmount(() =>
            document.removeEventListener("fullscreenchange", this._onFullScreenChange)
        );
        this._busTimer = null;
        this._onBus = () => this._scheduleLoad();
        onWillStart(() => this.load());
        onMounted(() => {
            for (const type of [
                WALLBOARD_NOTIFICATION,
                MEMBER_STATE_NOTIFICATION,
                CALLBACKS_NOTIFICATION,
            ]) {
                this.busService.subscribe(type, this._onBus);
            }
            this._tick = browser.setInterval(
                () => (this.state.now = Date.now()),
                TICK_INTERVAL
            );
            this._poll = browser.setInterval(() => this.load(), POLL_INTERVAL);
        });
        onWillUnmount(() => {
            for (const type of [
                WALLBOARD_NOTIFICATION,
                MEMBER_STATE_NOTIFICATION,
                CALLBACKS_NOTIFICATION,
            ]) {
                if (this.busService.unsubscribe) {
                    this.busService.unsubscribe(type, this._onBus);
                }
            }
            browser.clearInterval(this._tick);
            browser.clearInterval(this._poll);
            browser.clearTimeout(this._busTimer);
        });
    }

    _readSelection() {
        try {
            const value = JSON.parse(
                browser.localStorage.getItem(STORAGE_KEY) || "null"
            );
            return Array.isArray(value) ? value : null;
        } catch {
            return null;
        }
    }

    _scheduleLoad() {
        if (this._busTimer) {
            return;
        }
        this._busTimer = browser.setTimeout(() => {
            this._busTimer = null;
            this.load();
        }, BUS_DELAY);
    }

    async load() {
        try {
            const data = await this.orm.call(
                "axivox.queue",
                "axivox_wallboard_data",
                [],
                {
                    queue_ids: null,
                }
            );
            this.state.skew = data.server_time * 1000 - Date.now();
            this.state.allQueues = data.queues.map((q) => ({id: q.id, name: q.name}));
            const selected = this.state.selected;
            this.state.queues = selected
                ? data.queues.filter((q) => selected.includes(q.id))
                : data.queues;
            this.state.now = Date.now();
            this.state.error = null;
        } catch (error) {
            this.state.error = (error.data && error.data.message) || error.message;
        } finally {
            this.state.loaded = true;
        }
    }

    longestWait(queue) {
        if (!queue.waiting || !queue.longest_wait_since) {
            return "0:00";
        }
        return clock(
            (this.state.now + this.state.skew) / 1000 - queue.longest_wait_since
        );
    }

    percent(ratio) {
        return percent(ratio);
    }

    isShown(queue) {
        return !this.state.selected || this.state.selected.includes(queue.id);
    }

    onChoose() {
        this.state.choosing = !this.state.choosing;
    }

    onToggleQueue(queue) {
        const all = this.state.allQueues.map((q) => q.id);
        let selected = this.state.selected ? [...this.state.selected] : [...all];
        selected = selected.includes(queue.id)
            ? selected.filter((id) => id !== queue.id)
            : [...selected, queue.id];
        this.state.selected = selected.length === all.length ? null : selected;
        browser.localStorage.setItem(STORAGE_KEY, JSON.stringify(this.state.selected));
        this.load();
    }

    get fullScreenLabel() {
        return this.state.fullScreen ? _t("Exit full screen") : _t("Full screen");
    }

    /** The wallboard alone on the screen (the TV's), and back (Esc does it too). */
    async onFullScreen() {
        if (document.fullscreenElement) {
            await document.exitFullscreen();
        } else if (this.root.el.requestFullscreen) {
            await this.root.el.requestFullscreen();
        }
    }

    get title() {
        return _t("Call queues, live");
    }
}

registry.category("actions").add("voip_axivox_queue.wallboard", Wallboard);
