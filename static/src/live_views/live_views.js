/** @odoo-module **/

import {ConfirmationDialog} from "@web/core/confirmation_dialog/confirmation_dialog";
import {FormController} from "@web/views/form/form_controller";
import {KanbanController} from "@web/views/kanban/kanban_controller";
import {ListController} from "@web/views/list/list_controller";
import {ListRenderer} from "@web/views/list/list_renderer";
import {_t} from "@web/core/l10n/translation";
import {formView} from "@web/views/form/form_view";
import {kanbanView} from "@web/views/kanban/kanban_view";
import {listView} from "@web/views/list/list_view";
import {registry} from "@web/core/registry";
import {useEffect} from "@odoo/owl";
import {useMemberStateReload} from "./live_reload";

const viewRegistry = registry.category("views");

/** What deleting queues does, said before it is done (the Odoo default says nothing of it). */
export function queueDeleteDialogProps(props, count = 1) {
    return {
        ...props,
        title: count > 1 ? _t("Delete these queues") : _t("Delete the queue"),
        body:
            count > 1
                ? _t(
                      "These queues will be deleted on the PBX too: callers can no longer reach them and they cannot be restored. Their report history stays in Odoo."
                  )
                : _t(
                      "This queue will be deleted on the PBX too: callers can no longer reach it and it cannot be restored. Its report history stays in Odoo."
                  ),
        confirmLabel: _t("Delete on the PBX"),
        cancelLabel: _t("No, keep it"),
    };
}

/**
 * Lists (the queues dashboard, the queue agents): any login or logout may change a count,
 * a connected flag or what a filter keeps, so every notification reloads the list, keeping
 * its domain, order, page, groups and selection. A row being edited is left alone.
 */
export class AxivoxLiveListController extends ListController {
    setup() {
        super.setup();
        useMemberStateReload({
            reload: () => this.reloadLive(),
            canReload: () =>
                !this.model.useSampleModel && !this.model.root.editedRecord,
        });
    }

    get deleteConfirmationDialogProps() {
        const props = super.deleteConfirmationDialogProps;
        if (this.props.resModel !== "axivox.queue") {
            return props;
        }
        const root = this.model.root;
        const count = root.isDomainSelected ? 2 : root.selection.length;
        return queueDeleteDialogProps(props, count);
    }

    async reloadLive() {
        const root = this.model.root;
        const selected = new Set(root.selection.map((record) => record.resId));
        const domainSelected = root.isDomainSelected;
        await root.load();
        const reloaded = this.model.root;
        for (const record of reloaded.records) {
            if (selected.has(record.resId)) {
                await record.toggleSelection(true);
            }
        }
        if (domainSelected) {
            await reloaded.selectDomain(true);
        }
    }
}

export class AxivoxLiveKanbanController extends KanbanController {
    setup() {
        super.setup();
        useMemberStateReload({
            reload: () => this.model.root.load(),
            canReload: () => !this.model.useSampleModel,
        });
    }

    async deleteRecord(record) {
        this.dialog.add(
            ConfirmationDialog,
            queueDeleteDialogProps({
                confirm: () => this.model.root.deleteRecords([record]),
                cancel: () => undefined,
            })
        );
    }
}

/**
 * The queue form: only this queue's notifications, and never over a manager's unsaved edits.
 * A dirty form is left as it is; saving reloads it anyway, and discarding its changes reads
 * the queue again if a notification was left aside meanwhile.
 */
export class AxivoxLiveFormController extends FormController {
    setup() {
        super.setup();
        this.liveReloadMissed = false;
        useMemberStateReload({
            reload: () => {
                this.liveReloadMissed = false;
                return this.model.root.load();
            },
            concerns: (payload) => payload.queue_id === this.model.root.resId,
            canReload: async () => {
                const record = this.model.root;
                if (!record.resId || record.isNew) {
                    return false;
                }
                const dirty = await record.isDirty();
                this.liveReloadMissed = this.liveReloadMissed || dirty;
                return !dirty;
            },
        });
    }

    get deleteConfirmationDialogProps() {
        return queueDeleteDialogProps(super.deleteConfirmationDialogProps);
    }

    async discard() {
        await super.discard();
        const record = this.model.root;
        if (this.liveReloadMissed && record.resId && !record.isNew && !record.dirty) {
            this.liveReloadMissed = false;
            await record.load();
        }
    }
}

/**
 * The queues dashboard's columns have short headers, which wrap rather than being cut
 * (see queue_dashboard.scss); hovering a header shows its whole name and what it means
 * (the field's help), as Odoo does in debug mode.
 */
export class AxivoxQueueListRenderer extends ListRenderer {
    setup() {
        super.setup();
        useEffect(() => {
            if (this.env.debug || !this.tableRef.el) {
                return;
            }
            for (const th of this.tableRef.el.querySelectorAll("thead th[data-name]")) {
                const field = this.fields[th.dataset.name];
                const label = th.textContent.trim();
                const help = field && field.help;
                if (label) {
                    th.dataset.tooltip = help ? `${label}: ${help}` : label;
                }
            }
        });
    }
}

export const axivoxLiveListView = {...listView, Controller: AxivoxLiveListController};
export const axivoxQueueListView = {
    ...axivoxLiveListView,
    Renderer: AxivoxQueueListRenderer,
};
export const axivoxLiveKanbanView = {
    ...kanbanView,
    Controller: AxivoxLiveKanbanController,
};
export const axivoxLiveFormView = {...formView, Controller: AxivoxLiveFormController};

viewRegistry.add("axivox_queue_list", axivoxQueueListView);
viewRegistry.add("axivox_queue_kanban", axivoxLiveKanbanView);
viewRegistry.add("axivox_queue_form", axivoxLiveFormView);
viewRegistry.add("axivox_queue_member_list", axivoxLiveListView);
