"""Deterministic call traffic in virtual time.

``generate(state, seed, calls, queue_ids, start)`` plays ``calls`` inbound
calls through the queues' routing rules and returns ``(items, rr_pointers)``:
the queue_log events sorted by time, not emitted; ``run`` emits them;
``working_days`` plays days of a contact centre (the agents' logins and
logouts around the traffic) as PBX events, for the addon's demo data.

Model (per call, calls processed in arrival order):

* arrivals every ~exp(45 s); the caller has a patience ~exp(150 s);
* no connected agent: ENTERQUEUE then EXITEMPTY;
* agents are rung following the strategy; ringall rings every free agent at
  once, the other strategies ring one agent at a time and try every free agent once (in
  strategy order) before ringing one again. An agent answers with probability 0.7 after
  2..(max_ring_time-1) s, otherwise RINGNOANSWER exactly ``max_ring_time`` s after the
  ring started; then the next agent is tried after a 1 s retry pause;
* the caller hanging up while an agent rings: RINGCANCELED then ABANDON;
  hanging up with nobody ringing: ABANDON; ``max_wait_time`` reached:
  EXITWITHTIMEOUT;
* answered: CONNECT, then COMPLETEAGENT / COMPLETECALLER, or (10%)
  ATTENDEDTRANSFER / BLINDTRANSFER; the agent is busy during the talk time
  plus 5 s of wrap-up (across all its queues).
"""
import datetime
import json
import random

from . import DEMO_DATA
from ._compat import events as ev
from ._compat import iso
from .state import PBXState

ANSWER_PROBABILITY = 0.7
RETRY_SECONDS = 1.0
WRAPUP_SECONDS = 5.0


def _order(state, queue, free, rng, stats, rr):
    """Agents to try, in order, according to the queue strategy."""
    strategy = queue["strategy"]
    members = state.connected_agents(queue)
    if strategy == "leastrecent":
        return sorted(free, key=lambda e: (stats[e]["last_end"], members.index(e)))
    if strategy == "fewestcalls":
        return sorted(free, key=lambda e: (stats[e]["calls"], members.index(e)))
    if strategy == "random":
        agents = list(free)
        rng.shuffle(agents)
        return agents
    if strategy == "rrmemory":
        start = rr.get(queue["id"], 0) % max(1, len(members))
        rotated = members[start:] + members[:start]
        return [e for e in rotated if e in free]
    return [e for e in members if e in free]  # linear (and ringall: all of them)


def _ring(call, members, rng, busy, stats, rr):
    """Ring the queue's agents for ``call`` until one answers, the caller hangs up or
    the wait times out: ``((kind, agent, ring_time), now)``."""
    add, state, queue, t = call["add"], call["state"], call["queue"], call["t"]
    hangup_at, deadline, base = call["hangup_at"], call["deadline"], call["base"]
    ring_limit, qid = queue["max_ring_time"], queue["id"]
    now = t
    result = None
    tried = set()
    while result is None:
        free = [e for e in members if busy.get(e, float("-inf")) <= now]
        if not free:
            next_free = min(busy[e] for e in members)
            if min(hangup_at, deadline) <= next_free:
                result = (
                    ("hangup", None, None)
                    if hangup_at < deadline
                    else ("timeout", None, None)
                )
                break
            now = next_free
            continue
        targets = _order(state, queue, free, rng, stats, rr)
        if queue["strategy"] != "ringall":
            # one agent at a time; every free agent once before ringing one again
            untried = [e for e in targets if e not in tried]
            if not untried:
                tried.clear()
                untried = targets
            targets = untried[:1]
            tried.add(targets[0])
            if queue["strategy"] == "rrmemory":
                members_now = state.connected_agents(queue)
                rr[qid] = (members_now.index(targets[0]) + 1) % len(members_now)
        answers = []
        for ext in targets:
            if rng.random() < ANSWER_PROBABILITY:
                answers.append((now + rng.uniform(2, max(2.5, ring_limit - 1)), ext))
        answered = min(answers) if answers else None
        ring_end = answered[0] if answered else now + ring_limit
        stop_at = min(hangup_at, deadline)
        if stop_at < ring_end:
            for ext in targets:
                if hangup_at < deadline:
                    add(
                        hangup_at,
                        "RINGCANCELED",
                        queue,
                        agent_extension=ext,
                        ring_time=int(hangup_at - now),
                        **base,
                    )
            result = (
                ("hangup", None, None)
                if hangup_at < deadline
                else ("timeout", None, None)
            )
            break
        if answered:
            result = ("answer", answered[1], answered[0] - now)
            now = answered[0]
            break
        for ext in targets:
            add(
                now + ring_limit,
                "RINGNOANSWER",
                queue,
                agent_extension=ext,
                ring_time=ring_limit,
                **base,
            )
        now = now + ring_limit + RETRY_SECONDS
    return result, now


def _answer(call, agent, ring_time, leave, rng, busy, stats):
    """The answered ``call``: CONNECT at ``leave``, then its end (completed by either
    side, or transferred); the agent is busy until then, plus the wrap-up."""
    add, state, queue, t = call["add"], call["state"], call["queue"], call["t"]
    position, base = call["position"], call["base"]
    hold = int(leave - t)
    add(
        leave,
        "CONNECT",
        queue,
        agent_extension=agent,
        hold_time=hold,
        wait_time=hold,
        ring_time=int(ring_time),
        position=position,
        original_position=position,
        **base,
    )
    talk = int(min(1800, 20 + rng.expovariate(1 / 180.0)))
    end = leave + talk
    roll = rng.random()
    if roll < 0.05:
        add(
            end,
            "ATTENDEDTRANSFER",
            queue,
            agent_extension=agent,
            hold_time=hold,
            talk_time=talk,
            transfer_target=rng.choice(sorted(state.users)),
            **base,
        )
    elif roll < 0.10:
        add(
            end,
            "BLINDTRANSFER",
            queue,
            agent_extension=agent,
            hold_time=hold,
            talk_time=talk,
            transfer_target="+3226%06d" % rng.randrange(1000000),
            **base,
        )
    elif roll < 0.55:
        add(
            end,
            "COMPLETEAGENT",
            queue,
            agent_extension=agent,
            hold_time=hold,
            talk_time=talk,
            position=position,
            **base,
        )
    else:
        add(
            end,
            "COMPLETECALLER",
            queue,
            agent_extension=agent,
            hold_time=hold,
            talk_time=talk,
            position=position,
            **base,
        )
    busy[agent] = end + WRAPUP_SECONDS
    stats[agent]["calls"] += 1
    stats[agent]["last_end"] = end


def generate(state, seed, calls, queue_ids=None, start=None, interarrival=45.0):
    """The traffic of ``calls`` calls (one every ~exp(``interarrival``) s from
    ``start``): ``(items, rr_pointers)``, items ``(epoch, order, type, queue_id,
    fields)`` sorted by time."""
    rng = random.Random(seed)
    queues = (
        [state.get_queue(q) for q in queue_ids]
        if queue_ids
        else [state.queues[k] for k in sorted(state.queues)]
    )
    if not queues:
        return [], {}
    if start is None:
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
            hours=1
        )
    t0 = start.timestamp()
    busy = {}  # ext -> busy until (virtual epoch)
    stats = {e: {"calls": 0, "last_end": float("-inf")} for e in state.users}
    rr = dict(state.rr_pointer)
    waiting = {q["id"]: [] for q in queues}  # queue -> [(enter, leave)]
    out = []  # (time, order, type, queue_id, fields)
    clock = t0
    order = 0

    def add(when, type_, queue, **fields):
        nonlocal order
        order += 1
        if fields.get("agent_extension"):
            ext = fields["agent_extension"]
            fields.setdefault("agent_name", state.users.get(ext, {}).get("name"))
            fields.setdefault("member_type", state.member_type(queue, ext))
        out.append((when, order, type_, queue["id"], fields))

    for n in range(calls):
        clock += rng.expovariate(1 / interarrival)
        queue = queues[rng.randrange(len(queues))]
        t = round(clock, 3)
        call_id = "sim-%s-%05d" % (seed, n + 1)
        caller = "+3225%06d" % rng.randrange(1000000)
        patience = max(5.0, rng.expovariate(1 / 150.0))
        deadline = t + queue["max_wait_time"]
        hangup_at = t + patience
        qid = queue["id"]
        ahead = sum(1 for enter, leave in waiting[qid] if enter <= t < leave)
        position = ahead + 1
        base = dict(call_id=call_id, caller_number=caller)
        add(t, "ENTERQUEUE", queue, position=position, **base)
        members = state.connected_agents(queue)
        if not members:
            leave = t + 1
            add(
                leave,
                "EXITEMPTY",
                queue,
                position=position,
                original_position=position,
                wait_time=1,
                **base,
            )
            waiting[qid].append((t, leave))
            continue
        call = dict(
            add=add,
            state=state,
            queue=queue,
            t=t,
            hangup_at=hangup_at,
            deadline=deadline,
            base=base,
            position=position,
        )
        result, now = _ring(call, members, rng, busy, stats, rr)
        kind, agent, ring_time = result
        if kind == "hangup":
            leave = hangup_at
            add(
                leave,
                "ABANDON",
                queue,
                position=position,
                original_position=position,
                wait_time=int(leave - t),
                **base,
            )
        elif kind == "timeout":
            leave = deadline
            add(
                leave,
                "EXITWITHTIMEOUT",
                queue,
                position=position,
                original_position=position,
                wait_time=int(leave - t),
                **base,
            )
        else:
            leave = now
            _answer(call, agent, ring_time, leave, rng, busy, stats)
        waiting[qid].append((t, leave))
    out.sort(key=lambda item: (item[0], item[1]))
    return out, rr


def run(state, seed, calls, queue_ids=None, start=None, now=None):
    """Generate and emit the traffic; returns a summary of what was emitted.

    A PBX reports what has happened: traffic that would end after ``now`` (epoch
    seconds, the present by default) is moved earlier as a whole, so that its last
    event is dated ``now`` (a call may last up to 30 minutes after ``start``)."""
    items, rr = generate(state, seed, calls, queue_ids, start)
    state.rr_pointer.update(rr)
    now = (
        datetime.datetime.now(datetime.timezone.utc).timestamp() if now is None else now
    )
    shift = max(0.0, items[-1][0] - now) if items else 0.0
    counts = {t: 0 for t in ev.EVENT_TYPES}
    first = last = None
    for when, _, type_, queue_id, fields in items:
        stamp = datetime.datetime.fromtimestamp(when - shift, datetime.timezone.utc)
        event = state.emit(type_, queue_id, timestamp=stamp, **fields)
        counts[type_] += 1
        first = first or event
        last = event
    return {
        "calls": calls,
        "events": len(items),
        "by_type": counts,
        "first_cursor": str(first["seq"]) if first else None,
        "last_cursor": str(last["seq"]) if last else None,
        "start": first["timestamp"] if first else None,
        "end": last["timestamp"] if last else None,
    }


def working_days(now, days=7, seed=17, calls_per_day=40, data=None):
    """The PBX events of ``days`` working days and of today until ``now`` (aware,
    UTC) on the PBX ``data`` (data/demo.json by default), none in the future: the
    dynamic agents log in at about 08:00 and out at about 17:00 (those of
    ``data["connected_agents"]`` stay connected today), ``calls_per_day`` calls per
    queue from 08:35 to 16:40; today, only the calls that have ended."""
    if data is None:
        with open(DEMO_DATA, encoding="utf-8") as fh:
            data = json.load(fh)
    rng = random.Random(seed)
    state = PBXState(dict(data, connected_agents=[]), announce_seconds=0)
    queues = [state.queues[k] for k in sorted(state.queues)]
    connected = {(c["queue_id"], str(c["extension"])) for c in data["connected_agents"]}
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    items = []

    def member(when, type_, queue, ext):
        name = state.users[ext]["name"]
        fields = dict(agent_extension=ext, agent_name=name, member_type="dynamic")
        items.append((when.timestamp(), 0, type_, queue["id"], fields))

    for day in range(days, -1, -1):
        start = today - datetime.timedelta(days=day, hours=-8)
        for queue in queues:
            for ext in queue["dynamic_agents"]:
                login = start + datetime.timedelta(minutes=rng.randint(0, 30))
                logout = start + datetime.timedelta(hours=9, minutes=rng.randint(0, 30))
                if not day:
                    # Today's logins and logouts are in the past, whatever the hour: a
                    # future one would make every real PBX event look older.
                    login = now - datetime.timedelta(minutes=rng.randint(40, 90))
                    logout = now - datetime.timedelta(minutes=rng.randint(2, 30))
                member(login, "ADDMEMBER", queue, ext)
                if day or (queue["id"], ext) not in connected:
                    member(logout, "REMOVEMEMBER", queue, ext)
                state.connections[(queue["id"], ext)] = iso(login)
        first = start + datetime.timedelta(minutes=35)
        calls = calls_per_day * len(queues)
        traffic, rr = generate(
            state, seed * 1000 + day, calls, start=first, interarrival=485 * 60 / calls
        )
        state.rr_pointer.update(rr)
        # A call is kept whole or not at all: today, only those that have ended.
        late = {f["call_id"] for when, *_, f in traffic if when > now.timestamp()}
        items += [item for item in traffic if item[4]["call_id"] not in late]
    items.sort(key=lambda item: (item[0], item[1]))
    return [
        dict(
            fields,
            id=f"demo-{n:06d}",
            type=type_,
            queue_id=queue_id,
            timestamp=iso(datetime.datetime.fromtimestamp(when, datetime.timezone.utc)),
        )
        for n, (when, _order, type_, queue_id, fields) in enumerate(items, 1)
    ]
