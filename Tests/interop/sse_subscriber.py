#!/usr/bin/env python3
"""An independent subscriber of a Kvitto node's event stream (GET /v1/events), written from
Schemas/events.md only: httpx + httpx-sse consume the stream, the CloudEvents SDK (PyPI
`cloudevents`) parses every event, and jsonschema checks it against Schemas/event-data.schema.json.

Every event received is recorded as one line `<id> <type>` in --record, flushed at once. On start
the subscriber resumes after the last complete line of that file with Last-Event-ID, so it may be
killed at any moment (SIGKILL) and started again: the record must end up holding every event once,
in order.

It exits 0 once the file --until names holds a seq and an event with at least that id has been
recorded (looked at on every event and heartbeat: ask for `heartbeat=1`), 3 when the stream ends
before, 2 on a check that failed (the reason on stderr), 1 on any other error; --seconds bounds it."""
import argparse
import json
import os
import sys
import time

import httpx
import jsonschema
from cloudevents.core.formats.json import JSONFormat
from httpx_sse import connect_sse


def last_recorded(path):
    """The id of the last complete line of the record (0 when there is none); a torn last line is dropped."""
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        with open(path, "wb") as f:
            f.write(data)
    lines = data.decode().splitlines()
    return int(lines[-1].split()[0]) if lines else 0


def until_seq(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text else None
    except FileNotFoundError:
        return None


def fail(reason):
    print(reason, file=sys.stderr)
    sys.exit(2)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="https://127.0.0.1:PORT/v1/events?heartbeat=1&...")
    p.add_argument("--token", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--until", required=True)
    p.add_argument("--schema", required=True)
    p.add_argument("--seconds", type=float, default=300)
    a = p.parse_args()
    with open(a.schema) as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    after = last_recorded(a.record)
    deadline = time.monotonic() + a.seconds
    headers = {"Authorization": "Bearer " + a.token, "Accept": "text/event-stream"}
    if after > 0:
        headers["Last-Event-ID"] = str(after)
    url = a.url if after > 0 or "after=" in a.url else a.url + "&after=0"
    fmt = JSONFormat()
    print(f"{time.strftime('%H:%M:%S')} connecting after {after}", file=sys.stderr, flush=True)
    with open(a.record, "a") as record, httpx.Client(verify=a.ca, timeout=httpx.Timeout(30.0)) as client:
        with connect_sse(client, "GET", url, headers=headers) as source:
            if source.response.status_code != 200:
                fail(f"status {source.response.status_code}: {source.response.read()[:300]!r}")
            ctype = source.response.headers.get("content-type", "")
            if not ctype.startswith("text/event-stream"):
                fail(f"content type {ctype}")
            last = after
            for sse in source.iter_sse():
                if time.monotonic() > deadline:
                    fail(f"not done within {a.seconds} s (at {last})")
                target = until_seq(a.until)
                if target is not None and last >= target:
                    return 0
                if not sse.data:
                    continue  # a heartbeat (httpx-sse yields the blank line after a comment)
                event = fmt.read(None, sse.data.encode())
                seq = int(event.get_id())
                if seq <= last:
                    fail(f"event {seq} after {last}: out of order or repeated")
                if sse.id != str(seq):
                    fail(f"SSE id {sse.id} is not the CloudEvent id {seq}")
                if sse.event != event.get_type():
                    fail(f"SSE event {sse.event} is not the CloudEvent type {event.get_type()}")
                errors = sorted(validator.iter_errors(json.loads(sse.data)), key=str)
                if errors:
                    fail(f"event {seq} does not match the schema: {errors[0].message}")
                record.write(f"{seq} {event.get_type()}\n")
                record.flush()
                last = seq
            # The stream ended (token expiry or the node stopping): the caller starts us again.
            return 3


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - reported to the test, which decides
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
