/** @odoo-module **/

import {Component, onWillStart, useState} from "@odoo/owl";
import {
    deserializeDateTime,
    formatDate,
    formatDateTime,
    localization,
} from "@web/core/l10n/dates";
import {Layout} from "@web/search/layout";
import {_t} from "@web/core/l10n/translation";
import {browser} from "@web/core/browser/browser";
import {download} from "@web/core/network/download";
import {registry} from "@web/core/registry";
import {useDebounced} from "@web/core/utils/timing";
import {useService} from "@web/core/utils/hooks";
import {useSetupAction} from "@web/webclient/actions/action_hook";

export const REPORT_DEBOUNCE = 300;
export const REPORT_PAGE_SIZE = 80;
export const FILTERS_KEY = "voip_axivox_queue.report_filters";
export const PERIODS = [
    "today",
    "yesterday",
    "this_week",
    "last_7_days",
    "this_month",
    "custom",
];

/** Serialized datetime of the server (UTC) <-> the value of a datetime-local input. */
function toInput(value) {
    return value ? deserializeDateTime(value).toFormat("yyyy-MM-dd'T'HH:mm") : "";
}

function fromInput(value) {
    if (!value) {
        return false;
    }
    const local = luxon.DateTime.fromISO(value);
    return local.isValid ? local.toUTC().toFormat("yyyy-MM-dd HH:mm:ss") : false;
}

/**
 * The queue report, as a page: its filters stay visible beside the results (period presets
 * or from/to, the 13 event types with Check all / Uncheck all, call ID, caller number); any
 * change updates the results; Export to CSV exports exactly the lines the filters show.
 * The filters are kept: when coming back (breadcrumbs) and for the next visit.
 */
export class QueueReportPage extends Component {
    static template = "voip_axivox_queue.QueueReportPage";
    static components = {Layout};
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.user = useService("user");
        const context = (this.props.action && this.props.action.context) || {};
        const saved = this.props.state && this.props.state.filters;
        this.storageKey = `${FILTERS_KEY}.${this.user.userId}`;
        this.state = useState({
            filters: saved || this.restoreFilters(context),
            eventTypes: [],
            queues: [],
            records: [],
            length: 0,
            offset: 0,
            from: false,
            to: false,
            loading: false,
            error: false,
        });
        this.debouncedSearch = useDebounced(() => this.search(), REPORT_DEBOUNCE);
        useSetupAction({getLocalState: () => ({filters: this.state.filters})});
        onWillStart(async () => {
            const info = await this.orm.call(
                "axivox.queue.report",
                "get_filter_info",
                [],
                {
                    queue_ids: this.state.filters.queue_ids,
                }
            );
            this.state.eventTypes = info.event_types;
            this.state.queues = info.queues;
            if (this.state.filters.event_types === null) {
                this.state.filters.event_types = info.event_types.map(([code]) => code);
            }
            await this.search();
        });
    }

    /** The filters of the last visit (queues from the action: "Report" of a queue). */
    restoreFilters(context) {
        let stored = {};
        try {
            stored =
                JSON.parse(browser.localStorage.getItem(this.storageKey) || "{}") || {};
        } catch {
            stored = {};
        }
        return {
            period: PERIODS.includes(stored.period) ? stored.period : "last_7_days",
            date_from: stored.date_from || false,
            date_to: stored.date_to || false,
            event_types: Array.isArray(stored.event_types) ? stored.event_types : null,
            call_id: stored.call_id || "",
            caller_number: stored.caller_number || "",
            queue_ids: context.default_queue_ids || context.queue_ids || [],
        };
    }

    get periodLabels() {
        return {
            today: _t("Today"),
            yesterday: _t("Yesterday"),
            this_week: _t("This week"),
            last_7_days: _t("Last 7 days"),
            this_month: _t("This month"),
            custom: _t("From ... to"),
        };
    }

    get periods() {
        return PERIODS;
    }

    get canSearch() {
        const f = this.state.filters;
        return f.period !== "custom" || (f.date_from && f.date_to);
    }

    /** The filters as the server reads them. */
    get serverFilters() {
        const f = this.state.filters;
        return {
            period: f.period,
            date_from: f.period === "custom" ? f.date_from : false,
            date_to: f.period === "custom" ? f.date_to : false,
            event_types: [...f.event_types],
            call_id: f.call_id,
            caller_number: f.caller_number,
            queue_ids: [...f.queue_ids],
        };
    }

    saveFilters() {
        // The queues come from the action that opened the page: not kept
        const kept = {...this.serverFilters};
        delete kept.queue_ids;
        browser.localStorage.setItem(this.storageKey, JSON.stringify(kept));
    }

    async search(offset = 0) {
        if (!this.canSearch) {
            this.state.records = [];
            this.state.length = 0;
            return;
        }
        this.saveFilters();
        this.state.loading = true;
        try {
            const result = await this.orm.call(
                "axivox.queue.report",
                "search_page",
                [this.serverFilters],
                {offset, limit: REPORT_PAGE_SIZE}
            );
            Object.assign(this.state, {
                records: result.records,
                length: result.length,
                offset: result.offset,
                from: result.from,
                to: result.to,
                tz: result.tz,
                error: false,
            });
        } catch (error) {
            this.state.error = (error.data && error.data.message) || error.message;
            this.state.records = [];
            this.state.length = 0;
        } finally {
            this.state.loading = false;
        }
    }

    changed() {
        this.debouncedSearch();
    }

    // ---------------------------------------------------------------- filters
    setPeriod(period) {
        const f = this.state.filters;
        if (period === "custom" && !f.date_from && this.state.from) {
            // From ... to starts from the period shown.
            f.date_from = this.state.from;
            f.date_to = this.state.to;
        }
        f.period = period;
        this.search();
    }

    inputValue(name) {
        return toInput(this.state.filters[name]);
    }

    onDateInput(name, ev) {
        this.state.filters[name] = fromInput(ev.target.value);
        this.changed();
    }

    isChecked(code) {
        return this.state.filters.event_types.includes(code);
    }

    toggleType(code) {
        const types = this.state.filters.event_types;
        this.state.filters.event_types = types.includes(code)
            ? types.filter((t) => t !== code)
            : [...types, code];
        this.changed();
    }

    checkAll() {
        this.state.filters.event_types = this.state.eventTypes.map(([code]) => code);
        this.search();
    }

    uncheckAll() {
        this.state.filters.event_types = [];
        this.search();
    }

    onTextInput(name, ev) {
        this.state.filters[name] = ev.target.value;
        this.changed();
    }

    removeQueue(queueId) {
        this.state.filters.queue_ids = this.state.filters.queue_ids.filter(
            (id) => id !== queueId
        );
        this.state.queues = this.state.queues.filter(([id]) => id !== queueId);
        this.search();
    }

    // ---------------------------------------------------------------- results
    get typeLabels() {
        return Object.fromEntries(this.state.eventTypes);
    }

    /**
     * The period shown, in the time zone the server counted its days in (the user's):
     * "11/23/2026 – 11/29/2026" for whole days, one date for one day, dates and times
     * (without seconds) otherwise.
     */
    get periodText() {
        if (!this.state.from || !this.state.to) {
            return "";
        }
        const zone = this.state.tz || "default";
        const from = luxon.DateTime.fromSQL(this.state.from, {zone: "utc"}).setZone(
            zone
        );
        const to = luxon.DateTime.fromSQL(this.state.to, {zone: "utc"}).setZone(zone);
        const wholeDays =
            from.toFormat("HH:mm:ss") === "00:00:00" &&
            to.toFormat("HH:mm:ss") === "23:59:59";
        if (wholeDays) {
            return from.hasSame(to, "day")
                ? formatDate(from)
                : `${formatDate(from)} – ${formatDate(to)}`;
        }
        const format = localization.dateTimeFormat.replace(/:ss/, "");
        return `${from.toFormat(format)} – ${to.toFormat(format)}`;
    }

    formatTime(value) {
        return value ? formatDateTime(deserializeDateTime(value)) : "";
    }

    get pagerText() {
        if (!this.state.length) {
            return "";
        }
        const first = this.state.offset + 1;
        const last = Math.min(this.state.offset + REPORT_PAGE_SIZE, this.state.length);
        return _t("%s-%s of %s", first, last, this.state.length);
    }

    get hasPrevious() {
        return this.state.offset > 0;
    }

    get hasNext() {
        return this.state.offset + REPORT_PAGE_SIZE < this.state.length;
    }

    previousPage() {
        this.search(Math.max(0, this.state.offset - REPORT_PAGE_SIZE));
    }

    nextPage() {
        this.search(this.state.offset + REPORT_PAGE_SIZE);
    }

    async exportCsv() {
        await download({
            url: "/voip_axivox_queue/report/page.csv",
            data: {filters: JSON.stringify(this.serverFilters)},
        });
    }
}

registry.category("actions").add("voip_axivox_queue.report_page", QueueReportPage);
