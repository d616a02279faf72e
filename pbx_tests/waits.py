"""Waiting on a condition, with a deadline, instead of sleeping: a real PBX (the
gateway on Asterisk) reports its events a few milliseconds after the API answered."""

import time


def wait_for(condition, timeout=10.0, every=0.02):
    """``condition()``'s first true value within ``timeout`` seconds, else its last."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def new_events(client, cursor, count, timeout=10.0, settle=0.3):
    """The events after ``cursor`` once there are ``count`` of them (or the deadline
    passed), plus any that follow within ``settle`` seconds: a test that expects
    ``count`` events also sees an extra one."""
    if count:
        wait_for(lambda: len(client.events_since(cursor)[0]) >= count, timeout)
    time.sleep(settle if count else settle * 2)
    return client.events_since(cursor)[0]
