#!/usr/bin/env python3
"""An independent webhook receiver for a Kvitto node, written from Schemas/webhooks.md and
Schemas/events.md only: an HTTPS server on 127.0.0.1 that verifies every delivery with the
Standard Webhooks package (PyPI `standardwebhooks`), parses it with the CloudEvents SDK (PyPI
`cloudevents`) and checks it against Schemas/event-data.schema.json.

Every delivery that verifies is answered 204 and recorded as one line
`<webhook-id> <cloudevent id> <type> <first|again>` in --record (flushed at once); the receiver
deduplicates by webhook-id (`again` marks a redelivery; the ids seen are read back from the record
when it starts, so it may be SIGKILLed and started again on the same port). A delivery that does
not verify is answered 401 and recorded in --refused as `<webhook-id> <reason>`. The secrets are
read from --secrets (one `whsec_…` per line) on every request, so a rotation is just a new line.

--fail N answers 503 (--fail-status S; with --retry-after T a Retry-After header) to the first N deliveries; --delay S waits S seconds before answering
(a slow endpoint). The port is written to --port-file once listening. --seconds bounds the run."""
import argparse
import http.server
import json
import os
import ssl
import sys
import threading
import time

import jsonschema
from cloudevents.core.formats.json import JSONFormat
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--secrets", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--refused", required=True)
    p.add_argument("--schema", required=True)
    p.add_argument("--fail", type=int, default=0)
    p.add_argument("--fail-status", type=int, default=503)
    p.add_argument("--retry-after", type=int, default=None)
    p.add_argument("--delay", type=float, default=0)
    p.add_argument("--seconds", type=float, default=300)
    a = p.parse_args()
    with open(a.schema) as f:
        validator = jsonschema.Draft202012Validator(json.load(f))
    fmt = JSONFormat()
    seen = set()
    if os.path.exists(a.record):
        with open(a.record, "rb") as f:
            data = f.read()
        if data and not data.endswith(b"\n"):  # a torn last line (killed while writing)
            data = data[: data.rfind(b"\n") + 1]
            with open(a.record, "wb") as f:
                f.write(data)
        seen = {line.split()[0] for line in data.decode().splitlines() if line}
    lock = threading.Lock()
    state = {"failed": 0}
    record = open(a.record, "a")
    refused = open(a.refused, "a")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, retry_after=None):
            self.send_response(status)
            if retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender went away mid-request (killed): nothing was delivered
                self.close_connection = True
                return
            if a.delay:
                time.sleep(a.delay)
            headers = {k: v for k, v in self.headers.items()}
            wid = self.headers.get("webhook-id", "-")
            with open(a.secrets) as f:
                secrets = [line.strip() for line in f if line.strip()]
            verified = False
            reason = "no secret"
            for secret in secrets:
                try:
                    Webhook(secret).verify(body, headers)
                    verified = True
                    break
                except WebhookVerificationError as e:
                    reason = str(e).replace("\n", " ")
            if not verified:
                with lock:
                    refused.write(f"{wid} {reason}\n")
                    refused.flush()
                return self.answer(401)
            with lock:
                if state["failed"] < a.fail:
                    state["failed"] += 1
                    return self.answer(a.fail_status, a.retry_after)
            try:
                if self.headers.get("Content-Type") != "application/cloudevents+json":
                    raise ValueError(f"content type {self.headers.get('Content-Type')}")
                event = fmt.read(None, body)
                errors = sorted(validator.iter_errors(json.loads(body)), key=str)
                if errors:
                    raise ValueError(f"schema: {errors[0].message}")
                if not wid.endswith("-" + event.get_id()):
                    raise ValueError(f"webhook-id {wid} does not name event {event.get_id()}")
            except Exception as e:  # noqa: BLE001 - a delivery we cannot read is a test failure
                with lock:
                    refused.write(f"{wid} invalid event: {e}\n")
                    refused.flush()
                return self.answer(400)
            with lock:
                again = wid in seen
                seen.add(wid)
                record.write(f"{wid} {event.get_id()} {event.get_type()} {'again' if again else 'first'}\n")
                record.flush()
            self.answer(204)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(a.cert, a.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(a.port_file + ".tmp", a.port_file)
    threading.Timer(a.seconds, server.shutdown).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
