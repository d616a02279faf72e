"""axivox.queue and the PBX: what Odoo sends (apply changes, delete) and what it reads
back (refresh, the sync's updates), with the changes to apply never overwritten."""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..axivox_api import exceptions as pbx_errors
from ..axivox_api import rules
from ..transactions import lock_events, own_transaction

# Refreshes from the PBX a manager may ask for per minute.
REFRESH_LIMIT = 10


class AxivoxQueue(models.Model):
    # One file a concern on purpose (here the queue and the PBX), as OCA connector
    # keeps a backend apart from its sync; the check is optional in the OCA template.
    _inherit = "axivox.queue"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _vals_from_pbx(self, remote):
        """Odoo values of a queue as the PBX describes it."""
        vals = {field: remote[field] for field in rules.QUEUE_CONFIG_FIELDS}
        vals["pbx_version"] = remote.get("version", 0)
        return vals

    def _pbx_payload(self):
        """The queue as the PBX API expects it."""
        self.ensure_one()
        members = self.sudo().member_ids
        missing = members.filtered(lambda m: not m.user_id.axivox_extension)
        if missing:
            raise UserError(
                _(
                    "%(agents)s have no PBX extension.",
                    agents=", ".join(missing.user_id.mapped("name")),
                )
            )
        payload = {field: self[field] for field in rules.QUEUE_CONFIG_FIELDS}
        for member_type in ("static", "dynamic"):
            payload[f"{member_type}_agents"] = members.filtered(
                lambda m, t=member_type: m.member_type == t
            ).user_id.mapped("axivox_extension")
        return payload

    def _by_account(self):
        """``(account, its queues of self)``, account by account."""
        for account in self.account_id:
            yield account, self.filtered(lambda q, a=account: q.account_id == a)

    def action_apply_changes(self):
        """Save the queues on the PBX and put them in production ("Apply changes")."""
        self.check_access_rights("write")
        self.check_access_rule("write")
        for account, queues in self._by_account():
            with account._pbx_errors():
                client = account._pbx_client()
                for queue in queues:
                    queue._apply_on_pbx(client)
                client.apply_changes()
            with own_transaction(account.env) as env:
                queues.with_env(env).message_post(body=_("Changes applied to the PBX."))
            queues.invalidate_recordset()
        return True

    def _apply_on_pbx(self, client):
        """Create or update the queue on the PBX (through ``client``), then record
        what the PBX answered in a transaction of its own, committed at once: when
        Odoo runs the action again after a serialization failure, the queue is not
        sent a second time (a new queue would be created twice, an update refused as
        stale)."""
        self.ensure_one()
        payload = self._pbx_payload()
        try:
            if self.remote_id:
                remote = client.update_queue(
                    self.remote_id, payload, version=self.pbx_version or None
                )
            else:
                remote = client.create_queue(payload)
        except pbx_errors.AxivoxConflict as exc:
            raise UserError(
                _(
                    "Queue %(queue)s was changed on the PBX since Odoo last read it: "
                    "your changes were not applied. Click Refresh to load the PBX "
                    "version, then edit and apply again.",
                    queue=self.name,
                )
            ) from exc
        with own_transaction(self.account_id.env) as env:
            self.with_env(env).with_context(axivox_no_pending_change=True).write(
                {
                    "remote_id": remote["id"],
                    "pbx_version": remote.get("version", 0),
                    "pending_changes": False,
                    "pbx_conflict_version": 0,
                }
            )
        self.invalidate_recordset()

    def _delete_on_pbx(self):
        """Delete the queues from the PBX (those it has); a refusal raises, and nothing
        is deleted in Odoo."""
        remote = self.sudo().filtered("remote_id")
        if not remote:
            return
        # The sync of these accounts waits (it could read the queue before it is gone
        # and write it back).
        self.env.cr.execute(
            "SELECT id FROM axivox_account WHERE id = ANY(%s) FOR NO KEY UPDATE",
            [remote.account_id.ids],
        )
        for account, queues in remote._by_account():
            with account._pbx_errors():
                client = account._pbx_client()
                for queue in queues:
                    try:
                        client.delete_queue(queue.remote_id)
                    except pbx_errors.AxivoxNotFound:
                        # already gone from the PBX: delete it from Odoo too
                        continue

    def action_refresh_from_pbx(self):
        """Re-read the queue's configuration (when it has no changes to apply) and its
        agents from the PBX (managers; a few times a minute at most, as it calls the PBX
        and writes as the superuser)."""
        queues = self or self.search([("active", "=", True)])
        queues.check_access_rights("write")
        if not self.env.user.has_group("voip_axivox_queue.group_axivox_manager"):
            raise AccessError(
                _("Only queue managers can refresh the queues from the PBX.")
            )
        if (
            not self.env["axivox.rate.limit"]
            .sudo()
            ._hit(f"refresh:{self.env.uid}", REFRESH_LIMIT, 60)
        ):
            raise UserError(
                _(
                    "The queues were refreshed many times in a short time: wait a "
                    "minute, then try again."
                )
            )
        for account, account_queues in queues._by_account():
            with account._pbx_errors():
                client = account._pbx_client()
                remote_agents = client.list_agents()
                remotes = {
                    r["id"]: r
                    for r in client.list_queues()
                    if isinstance(r.get("id"), str)
                }
            # In a transaction of its own, under the account's events lock (as the
            # sync).
            with own_transaction(account.env) as env:
                own_queues = account_queues.with_env(env).sudo()
                lock_events(env, account.ids)
                for queue in own_queues.filtered("remote_id"):
                    remote = remotes.get(queue.remote_id)
                    # a queue the PBX describes in a way Odoo cannot read is left as
                    # it is (the sync names it in the account's error)
                    if remote and not rules.queue_problem(remote):
                        queue._update_from_pbx(remote)
                account.with_env(env).sudo()._sync_agents(
                    remote_agents, {q.remote_id: q for q in own_queues if q.remote_id}
                )
                own_queues.with_context(axivox_no_pending_change=True).write(
                    {"last_refresh": fields.Datetime.now()}
                )
            account_queues.invalidate_recordset()
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    def _update_from_pbx(self, remote):
        """Make the queue what the PBX says, unless it has changes to apply from Odoo:
        those are never overwritten, a newer PBX version is reported instead."""
        self.ensure_one()
        if self.pending_changes:
            if remote.get("version", 0) > self.pbx_version:
                self._note_pbx_conflict(remote)
            return
        changed = self._changes_from_pbx(remote)
        if changed:
            self.with_context(axivox_no_pending_change=True).write(changed)

    def _changes_from_pbx(self, remote):
        """The values of the queue that differ from what the PBX says (reads only)."""
        self.ensure_one()
        vals = self._vals_from_pbx(remote)
        changed = {k: v for k, v in vals.items() if self[k] != v}
        if not self.active:
            changed["active"] = True
        return changed

    def _needs_update_from_pbx(self, remote):
        """Whether :meth:`_update_from_pbx` would change anything (reads only)."""
        self.ensure_one()
        if self.pending_changes:
            version = remote.get("version", 0)
            return version > self.pbx_version and version != self.pbx_conflict_version
        return bool(self._changes_from_pbx(remote))

    def _note_pbx_conflict(self, remote):
        """The PBX has a newer version while Odoo has unapplied changes: say it, keep
        both."""
        version = remote.get("version")
        for queue in self.filtered(lambda q: q.pbx_conflict_version != version):
            queue.with_context(
                axivox_no_pending_change=True
            ).pbx_conflict_version = version
            queue.message_post(
                body=_(
                    "The PBX has a newer version of this queue (version %(remote)s, "
                    "Odoo read version %(local)s) while it has changes not applied "
                    "from Odoo. Odoo did not overwrite either: apply your changes or "
                    "refresh.",
                    remote=version,
                    local=queue.pbx_version,
                ),
            )
