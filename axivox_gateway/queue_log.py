"""Asterisk's queue_log, read as the API's queue events.

A queue_log line is ``epoch|call uniqueid|queue|agent|EVENT|data1|data2|...``
(app_queue writes it; ``log_membername_as_agent = yes`` makes ``agent`` the member's
name, which the gateway sets to the agent's extension). Of its event types, the 13 of
the queue report become API events (``events.EVENT_TYPES``); the others (QUEUESTART,
PAUSE, UNPAUSE, AGENTLOGIN, CONFIGRELOAD, SYSCOMPAT, ...) are not events of the
report and are skipped.

Each event's ``id`` is derived from the line itself (and how many identical lines came
before it in the same second), so that reading the file again after a restart of the
gateway or of Asterisk gives the same ids: a receiver that already has an event
recognises it. ``QueueLogReader`` follows the file, rotation included, from a position
the gateway saves with the events it produced.
"""

import datetime
import hashlib
import os

from ._compat import events as ev

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# How far back identical lines are told apart (seconds).
KEEP_SECONDS = 120

# Where each event type keeps its numbers (app_queue's queue_log columns) and which
# field of the API event each one is. RINGNOANSWER and RINGCANCELED write their ring
# time in milliseconds.
_COLUMNS = {
    "ENTERQUEUE": (None, "caller_number", "position"),
    "CONNECT": ("hold_time", None, "ring_time"),
    "COMPLETEAGENT": ("hold_time", "talk_time", "original_position"),
    "COMPLETECALLER": ("hold_time", "talk_time", "original_position"),
    "ABANDON": ("position", "original_position", "wait_time"),
    "EXITWITHTIMEOUT": ("position", "original_position", "wait_time"),
    "EXITEMPTY": ("position", "original_position", "wait_time"),
    "RINGNOANSWER": ("ring_time_ms",),
    "RINGCANCELED": ("ring_time_ms",),
    "BLINDTRANSFER": ("transfer_target", None, "hold_time", "talk_time"),
    "ATTENDEDTRANSFER": (None, "transfer_target", "hold_time", "talk_time"),
    "ADDMEMBER": (),
    "REMOVEMEMBER": (),
}
# The types whose ``agent`` column names an agent (else it is NONE).
_AGENT_TYPES = ev.AGENT_EVENT_TYPES | {
    "RINGCANCELED",
    "ATTENDEDTRANSFER",
    "BLINDTRANSFER",
}


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def parse_line(line):
    """``(epoch, call_id, queue, agent, type, data)`` of a queue_log line, or None when
    the line is not one (a partial or damaged line)."""
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 5 or not parts[0].isdigit():
        return None
    return int(parts[0]), parts[1], parts[2], parts[3], parts[4], parts[5:]


def line_event(line, occurrence=0):
    """The API event (without ``seq``) of a queue_log ``line``, or None when the line
    is not an event of the report. ``occurrence`` counts the identical lines before it
    in the same second: it keeps their ids apart."""
    parsed = parse_line(line)
    if parsed is None or parsed[4] not in _COLUMNS:
        return None
    epoch, call_id, queue, agent, type_, data = parsed
    digest = hashlib.sha1(line.rstrip("\r\n").encode("utf-8", "replace")).hexdigest()
    event = {
        "id": "ql-%d-%s-%d" % (epoch, digest[:16], occurrence),
        "type": type_,
        "queue_id": queue,
        "timestamp": ev.format_timestamp(EPOCH + datetime.timedelta(seconds=epoch)),
    }
    for field in ev.EVENT_FIELDS[5:]:
        event[field] = None
    if call_id and call_id not in ("NONE", "MANAGER"):
        event["call_id"] = call_id
    if type_ in _AGENT_TYPES and agent and agent != "NONE":
        event["agent_extension"] = agent
    for column, value in zip(_COLUMNS[type_], data, strict=False):
        if column is None or value == "":
            continue
        if column == "ring_time_ms":
            ms = _int(value)
            event["ring_time"] = None if ms is None else round(ms / 1000)
        elif column in ("caller_number", "transfer_target"):
            event[column] = value
        else:
            event[column] = _int(value)
    if type_ == "CONNECT":
        event["wait_time"] = event["hold_time"]  # how long the caller waited
    return event


class QueueLogReader:
    """Follows a queue_log file: ``new_lines()`` returns the lines written since
    the last call, whole lines only, across rotations (the old file is read to its end
    before the new one is opened). ``position`` (inode, offset) is what to save to
    resume there after a restart."""

    def __init__(self, path, position=None):
        self.path = path
        self.inode, self.offset = position or (None, 0)
        self._partial = b""

    @property
    def position(self):
        return [self.inode, self.offset]

    def _read_from(self, fh):
        fh.seek(self.offset)
        data = fh.read(4 * 1024 * 1024)
        # Only whole lines: a line still being written is read next time.
        end = data.rfind(b"\n") + 1
        self.offset += end
        return data[:end].decode("utf-8", "replace").splitlines()

    def new_lines(self):
        lines = []
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return lines
        if self.inode is not None and stat.st_ino != self.inode:
            # Rotated: finish the old file if it is still there under another name
            # (logrotate's queue_log.1), then start the new one from its beginning.
            old = self._find_inode(self.inode)
            if old:
                with open(old, "rb") as fh:
                    lines += self._read_from(fh)
            self.inode, self.offset = stat.st_ino, 0
        elif self.inode is None:
            self.inode = stat.st_ino
        if stat.st_size < self.offset:  # truncated in place: start over
            self.offset = 0
        with open(self.path, "rb") as fh:
            lines += self._read_from(fh)
        return lines

    def _find_inode(self, inode):
        folder = os.path.dirname(self.path) or "."
        base = os.path.basename(self.path)
        for name in sorted(os.listdir(folder)):
            if name.startswith(base) and name != base:
                path = os.path.join(folder, name)
                try:
                    if os.stat(path).st_ino == inode:
                        return path
                except OSError:
                    continue
        return None


def events_of_lines(lines, last_second=None, seen=None):
    """The report's events of queue_log ``lines`` in their order. ``seen`` counts the
    lines of the last two minutes up to ``last_second`` (the latest time read); both
    carry the ``occurrence`` of identical lines from one read to the next (a clock set
    back included). Returns ``(events, last_second, seen)``."""
    seen = dict(seen or {})
    out = []
    for line in lines:
        parsed = parse_line(line)
        if parsed is None:
            continue
        if last_second is None or parsed[0] > last_second:
            last_second = parsed[0]
            seen = {
                known: n
                for known, n in seen.items()
                if int(known.split("|", 1)[0]) >= last_second - KEEP_SECONDS
            }
        occurrence = seen.get(line, 0)
        seen[line] = occurrence + 1
        event = line_event(line, occurrence)
        if event is not None:
            out.append(event)
    return out, last_second, seen
