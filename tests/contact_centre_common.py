"""Fixtures of the contact-centre tests (contacts, callbacks, sessions, wallboard): the
foundation world (two companies, queues q-sales and q-support on account A), Belgium as
the company's country, and a helper that ingests PBX events as the webhook does."""
import itertools
from datetime import datetime, timedelta

from ..axivox_api.events import validate_batch
from .common import AxivoxCase

_ids = itertools.count(1)


class ContactCentreCase(AxivoxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.belgium = cls.env.ref("base.be")
        cls.italy = cls.env.ref("base.it")
        cls.company_a.country_id = cls.belgium
        Queue = cls.env["axivox.queue"].with_context(axivox_no_pending_change=True)
        Queue.browse(cls.queue_sales.id).write({"remote_id": "q-sales"})
        Queue.browse(cls.queue_support.id).write({"remote_id": "q-support"})
        Queue.browse(cls.queue_b.id).write({"remote_id": "q-b"})

    @staticmethod
    def ev(kind, at, queue="q-sales", **data):
        """A PBX event at ``at`` ("2024-03-05T09:00:00", UTC)."""
        return dict(
            {
                "id": f"cc-{next(_ids)}",
                "type": kind,
                "queue_id": queue,
                "timestamp": at + ".000Z",
            },
            **data,
        )

    def ingest(self, events, account=None, source="webhook"):
        return self.env["axivox.event.intake"]._apply(
            account or self.account_a, validate_batch({"events": events}), source
        )

    def call(
        self,
        call_id,
        number,
        at,
        fate="answered",
        queue="q-sales",
        agent="202",
        wait=12,
        talk=90,
    ):
        """The events of one queue call: entered at ``at`` (HH:MM:SS of 2024-03-05)."""
        start = datetime.fromisoformat("2024-03-05T" + at)

        def t(seconds):
            return (start + timedelta(seconds=seconds)).isoformat()

        common = {"call_id": call_id, "caller_number": number, "queue": queue}
        events = [self.ev("ENTERQUEUE", t(0), position=1, **common)]
        if fate == "answered":
            events += [
                self.ev(
                    "CONNECT",
                    t(wait),
                    agent_extension=agent,
                    wait_time=wait,
                    ring_time=3,
                    **common,
                ),
                self.ev(
                    "COMPLETECALLER",
                    t(wait + talk),
                    agent_extension=agent,
                    wait_time=wait,
                    talk_time=talk,
                    **common,
                ),
            ]
        else:
            events.append(
                self.ev(
                    fate,
                    t(wait),
                    position=1,
                    original_position=1,
                    wait_time=wait,
                    **common,
                )
            )
        return events

    def events_of(self, call_id):
        return self.env["axivox.queue.event"].search([("call_id", "=", call_id)])
