"""Webhook ingestion benchmark against a running Odoo server (started by bench/run.sh).

Prints figures; asserts nothing. Measured in the same run:
  * the requests per second of a trivial auth='none' JSON route of the same server
    (/voip_axivox_queue/ping, the ceiling of Odoo's HTTP stack here) and of single-event
    signed webhooks, in BENCH_ROUNDS (5) interleaved rounds, and the median of the
    rounds' ratios;
  * batches of 1, 10, 100 and 1,000 events, each size BENCH_BATCH_RUNS times (5): the
    median time and its spread, and the SQL queries of the median run (read from the
    server's log line of that request, where Odoo writes each request's query count).

When an applier runs (``odoo-bin axivox-apply``), a delivery is answered once stored and
applied moments later: with ``--db``, the time until every delivery answered is applied
is printed too (polled in the database: nothing left waiting), after the throughput run
and for each batch.

Usage: webhook_bench.py --url URL --token TOKEN --secret SECRET --log SERVER_LOG
                        [--db DATABASE] [--requests N] [--concurrency C] [--label TEXT]
"""
import argparse
import concurrent.futures
import itertools
import json
import os
import re
import statistics
import sys
import threading
import time
import uuid

import psycopg2
import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from axivox_api import signature  # noqa: E402

RUN = uuid.uuid4().hex[:8]
COUNTER = itertools.count()
QUEUES = [f"bench-q{i}" for i in range(5)]
AGENTS = [str(2000 + i) for i in range(20)]
_local = threading.local()
NON_2XX = []  # the status of every answer that was not 2xx


def session():
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def make_event(kind=None):
    n = next(COUNTER)
    kind = kind or ("ENTERQUEUE", "CONNECT", "COMPLETECALLER", "ABANDON")[n % 4]
    ms = n % 1000
    event = {
        "id": f"bench-{RUN}-{n}",
        "type": kind,
        "queue_id": QUEUES[n % len(QUEUES)],
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{ms:03d}Z",
        "call_id": f"call-{RUN}-{n // 4}",
        # the caller of that call (the events of one call carry the same number)
        "caller_number": f"+3225{(n // 4) % 1000000:06d}",
    }
    if kind in ("CONNECT", "COMPLETECALLER", "ADDMEMBER", "REMOVEMEMBER"):
        event["agent_extension"] = AGENTS[n % len(AGENTS)]
    if kind == "CONNECT":
        event.update(wait_time=n % 60, ring_time=n % 20)
    if kind == "COMPLETECALLER":
        event.update(wait_time=n % 60, talk_time=n % 600)
    return event


def post_events(args, events, tag=""):
    body = json.dumps(
        events if isinstance(events, dict) else {"events": events}
    ).encode()
    headers = signature.signed_headers(args.secret, body)
    headers["Content-Type"] = "application/json"
    url = f"{args.url}/voip_axivox_queue/webhook/{args.token}"
    if tag:
        url += f"?bench={tag}"
    response = session().post(url, data=body, headers=headers, timeout=60)
    if response.status_code != 200:
        NON_2XX.append(response.status_code)
        print(f"webhook answered {response.status_code}: {response.text[:300]}")
        return {"applied": 0}
    answer = response.json()
    return {"applied": answer.get("applied", answer.get("queued", 0))}


def ping(args):
    response = session().get(f"{args.url}/voip_axivox_queue/ping", timeout=30)
    if response.status_code != 200:
        NON_2XX.append(response.status_code)


def throughput(args, call):
    """Requests per second of ``call`` run args.requests times by args.concurrency
    threads."""
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(lambda _: call(), range(args.requests)))
    return args.requests / (time.perf_counter() - start)


class Applied:
    """Polls the database (PG* environment) until nothing waits for the applier: every
    delivery answered before is then applied (each was stored, or applied at once
    without an applier)."""

    def __init__(self, dbname):
        self.cnx = psycopg2.connect(dbname=dbname) if dbname else None
        if self.cnx:
            self.cnx.autocommit = True

    def waiting(self):
        with self.cnx.cursor() as cr:
            cr.execute("SELECT EXISTS (SELECT 1 FROM axivox_queue_event_inbox)")
            return cr.fetchone()[0]

    def wait(self, timeout=60.0):
        """Seconds until nothing waits."""
        start = time.perf_counter()
        while self.waiting():
            if time.perf_counter() - start > timeout:
                return float("nan")
            time.sleep(0.002)
        return time.perf_counter() - start


def queries_of(log, tag, timeout=5.0):
    """The SQL query count Odoo logged for the request carrying ?bench=<tag>."""
    pattern = re.compile(rf"bench={tag} HTTP/1\.1\" 200 - (\d+) ([\d.]+) ([\d.]+)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                match = pattern.search(line)
                if match:
                    return int(match.group(1)), float(match.group(2))
        time.sleep(0.1)
    return None, None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--db", help="database, to wait for the events applied")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--label", default="")
    args = parser.parse_args()

    print(f"\n== Webhook ingestion {args.label}".rstrip())
    applied_db = Applied(args.db)
    # warm up both routes (registry, routing map, prepared plans)
    for _ in range(50):
        ping(args)
        post_events(args, make_event())
    # Interleaved rounds, so that both routes see the same machine; the trivial route
    # varies most (its ceiling is the client threads and nginx on the same cores), so
    # each round's ratio is taken, and their median.
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    trivial, single, lags = [], [], []
    for _ in range(rounds):
        trivial.append(throughput(args, lambda: ping(args)))
        single.append(throughput(args, lambda: post_events(args, make_event())))
        if applied_db.cnx:
            lags.append(applied_db.wait())
    ratios = [100 * w / t for w, t in zip(single, trivial, strict=True)]
    print(
        f"trivial auth='none' JSON route: {statistics.median(trivial):8.1f} req/s"
        "  median (runs: " + ", ".join(f"{x:.1f}" for x in trivial) + ")"
    )
    print(
        f"single-event signed webhooks:   {statistics.median(single):8.1f} req/s"
        "  median (runs: " + ", ".join(f"{x:.1f}" for x in single) + ")"
    )
    print(
        f"ratio webhook / trivial:        {statistics.median(ratios):8.1f} %"
        "  median of the rounds' ratios (rounds: "
        + ", ".join(f"{x:.1f}" for x in ratios)
        + f"; target >= 60 %; {args.requests} requests x {args.concurrency} threads)"
    )
    if lags:
        print(
            "every event applied, after the last answer: "
            + ", ".join(f"{lag:.3f} s" for lag in lags)
        )

    runs = int(os.environ.get("BENCH_BATCH_RUNS", "5"))
    print(
        f"events in batch            | batch size | wall time (s), median of {runs} "
        "| runs (s)    | SQL queries | SQL time (s) | accepted"
        + (" | applied after (s), median" if applied_db.cnx else "")
    )
    for logins in (0, 10):
        label = "calls only" if not logins else f"calls + {logins} logins/logouts"
        for size in (1, 10, 100, 1000):
            walls, logged, applied, done = [], [], [], []
            for run in range(runs):
                events = [make_event() for _ in range(size)]
                # agent logins / logouts: member state changes are part of ingestion
                for i in range(min(size, logins)):
                    events[i] = make_event(
                        "ADDMEMBER" if i % 2 == 0 else "REMOVEMEMBER"
                    )
                tag = f"{RUN}-{logins}-{size}-{run}"
                start = time.perf_counter()
                result = post_events(args, events, tag=tag)
                walls.append(time.perf_counter() - start)
                if applied_db.cnx:
                    done.append(walls[-1] + applied_db.wait())
                logged.append(queries_of(args.log, tag))
                applied.append(result["applied"])
            # the queries and SQL time of the median run
            middle = sorted(range(runs), key=walls.__getitem__)[runs // 2]
            count, sql_time = logged[middle]
            print(
                f"{label:26} | {size:10d} | {statistics.median(walls):26.3f} | "
                f"{min(walls):.3f}-{max(walls):.3f} | {count!s:>11} | "
                f"{sql_time!s:>12} | {min(applied)}"
                + (f" | {statistics.median(done):.3f}" if done else "")
            )
    print(
        f"answers that were not 2xx during the run: {len(NON_2XX)}"
        + (f" ({sorted(set(NON_2XX))})" if NON_2XX else "")
    )


if __name__ == "__main__":
    main()
