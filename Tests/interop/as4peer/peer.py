"""An SDK access point built on the PyPI `as4` package, driven by Kvitto's tests.

  peer.py receive --request-headers H --request-body B --keys DIR --signal-out S --payload-out P
      Processes one request (as an HTTP handler would): verifies, decrypts, decompresses, writes
      the payload and the signal (signed receipt or signed error). Exit 0 when the message was
      accepted, 3 when answered with an error.
  peer.py send --payload X --keys DIR --request-dir D [--timeout 60]
      Builds, signs and encrypts a message, writes D/request.headers and D/request.body, waits
      (bounded) for D/response.body, verifies the receipt. Prints the exchange state; exit 0 when
      ACKNOWLEDGED.
  peer.py serve --keys DIR --port N --payload-dir D        (HTTP receiver on 127.0.0.1)
  peer.py post --payload X --keys DIR --url U [--final-recipient P] [--original-sender P] [--conversation-id ID]
                                                           (HTTP sender)
  peer.py bench --keys DIR --payload-bytes N --threads T --seconds S
      The package's own throughput, for `kvitto bench as4` (which runs one per core at once): a
      threaded HTTP receiver on 127.0.0.1 and T senders in this process, each exchange a full one (build, sign, encrypt, POST, verify,
      decrypt, signed receipt, receipt verified); prints one JSON line with exchanges/s and the
      RSA-2048 private-key operations/s of `cryptography` on one thread in the same run.

DIR holds sender_cert.pem, sender_key.pem, receiver_cert.pem, receiver_key.pem; the party ids are
the certificates' common names. Trust: the receiver pins the sender's certificate, the sender
pins the receiver's (the `as4` package's own checks).
"""
import argparse
import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from as4 import (AS4BaseCredentials, AS4ExternalParty, AS4InternalCredentials, AS4InternalParty, AS4LocalPrivateKey,
                 AS4PartyIdentity, AS4ReceivingExchange, AS4SendingExchange, SecurityPolicy, pinned_certificates)
from sdk_profile import SDK_PARTY_TYPE, SdkAS4Profile, SdkBuilderArgs


def load(keys, name):
    cert = x509.load_pem_x509_certificate(open(os.path.join(keys, f"{name}_cert.pem"), "rb").read())
    key_path = os.path.join(keys, f"{name}_key.pem")
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), password=None) if os.path.exists(key_path) else None
    return cert, key


def party_id(cert):
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def internal(keys, name):
    cert, key = load(keys, name)
    return AS4InternalParty(identity=AS4PartyIdentity(party_id=party_id(cert), party_type=SDK_PARTY_TYPE),
                            credentials=AS4InternalCredentials(certificate=cert, private_key=AS4LocalPrivateKey(key)))


def external(keys, name):
    cert, _ = load(keys, name)
    return AS4ExternalParty(identity=AS4PartyIdentity(party_id=party_id(cert), party_type=SDK_PARTY_TYPE),
                            credentials=AS4BaseCredentials(certificate=cert))


def process(keys, headers, body):
    sender_cert, _ = load(keys, "sender")
    exchange = AS4ReceivingExchange(profile=SdkAS4Profile, local_party=internal(keys, "receiver"))
    exchange.receive(request_headers=headers, request_body=body,
                     security_policy=SecurityPolicy(signer_resolver=pinned_certificates(sender_cert)))
    signal_headers, signal = exchange.build_signal()
    return exchange, signal_headers, signal


def cmd_receive(a):
    headers = json.load(open(a.request_headers))
    body = open(a.request_body, "rb").read()
    exchange, _, signal = process(a.keys, headers, body)
    open(a.signal_out, "wb").write(signal)
    if exchange.successful:
        for cid, data in exchange.message.decrypted_data.items():
            open(a.payload_out, "wb").write(data)
        print("accepted", exchange.message_id, "from", exchange.remote_party.identity.party_id)
        return 0
    print("rejected", exchange.error.error_code, exchange.message.parse_error.detail if exchange.message.parse_error else "")
    return 3


def build(a):
    exchange = AS4SendingExchange(profile=SdkAS4Profile, local_party=internal(a.keys, "sender"),
                                  remote_party=external(a.keys, "receiver"))
    args = SdkBuilderArgs(original_sender=getattr(a, "original_sender", None) or "0203:sender.example.se",
                          final_recipient=a.final_recipient, conversation_id=getattr(a, "conversation_id", None))
    if getattr(a, "action", None):
        args.action = a.action
    headers, body = exchange.build(open(a.payload, "rb").read(), args)
    return exchange, headers, body


def finish(exchange, response):
    exchange.mark_sent()
    try:
        exchange.receive_signal(response)
    except Exception as exc:  # report, do not hide
        print("receipt refused:", type(exc).__name__, exc)
        return 1
    print("state:", exchange.state.name, "message_id:", exchange.message_id)
    if exchange.error:
        print("error:", exchange.error.error_code, exchange.error.error_detail.value if exchange.error.error_detail else "")
    return 0 if exchange.state.name == "ACKNOWLEDGED" else 2


def cmd_send(a):
    exchange, headers, body = build(a)
    json.dump(dict(headers), open(os.path.join(a.request_dir, "request.headers.tmp"), "w"))
    open(os.path.join(a.request_dir, "request.body"), "wb").write(body)
    os.rename(os.path.join(a.request_dir, "request.headers.tmp"), os.path.join(a.request_dir, "request.headers"))
    response = os.path.join(a.request_dir, "response.body")
    deadline = time.time() + a.timeout
    while not os.path.exists(response):
        if time.time() > deadline:
            print("no response within", a.timeout, "s")
            return 4
        time.sleep(0.05)
    return finish(exchange, open(response, "rb").read())


def cmd_post(a):
    import urllib3
    exchange, headers, body = build(a)
    resp = urllib3.request("POST", a.url, body=body, headers=headers, timeout=a.timeout, retries=False)
    print("HTTP", resp.status, resp.headers.get("Content-Type"))
    return finish(exchange, resp.data)


def answer(handler, status, headers, signal):
    """Writes the signal (receipt or error) as the HTTP response."""
    handler.send_response(status)
    for k, v in headers.items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(signal)))
    handler.end_headers()
    handler.wfile.write(signal)


def cmd_serve(a):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            exchange, headers, signal = process(a.keys, dict(self.headers.items()), body)
            if exchange.successful:
                for cid, data in exchange.message.decrypted_data.items():
                    open(os.path.join(a.payload_dir, f"{exchange.message_id}.{cid}"), "wb").write(data)
                print("accepted", exchange.message_id, flush=True)
            else:
                print("rejected", exchange.error.error_code, flush=True)
            answer(self, 200, headers, signal)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", a.port), Handler)
    print("listening", server.server_address[1], flush=True)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(a.port_file + ".tmp", a.port_file)
    server.serve_forever()


def cmd_bench(a):
    import threading
    import urllib3
    from http.server import ThreadingHTTPServer
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            exchange = AS4ReceivingExchange(profile=SdkAS4Profile, local_party=receiver)
            exchange.receive(request_headers=dict(self.headers.items()), request_body=body, security_policy=policy)
            headers, signal = exchange.build_signal()
            answer(self, 200 if exchange.successful else 500, headers, signal)

        def log_message(self, *args):
            pass

    # Keys are parsed once (loading a PEM RSA key checks it, which costs more than an exchange).
    receiver, sender_party, receiver_party = internal(a.keys, "receiver"), internal(a.keys, "sender"), external(a.keys, "receiver")
    policy = SecurityPolicy(signer_resolver=pinned_certificates(load(a.keys, "sender")[0]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/as4" % server.server_address[1]
    payload_path = os.path.join(a.keys, "bench-payload-%d.bin" % os.getpid())
    with open(payload_path, "wb") as f:
        f.write(os.urandom(a.payload_bytes))
    with open(payload_path, "rb") as f:
        payload = f.read()
    args = SdkBuilderArgs(original_sender="0203:sender.example.se", final_recipient="0203:receiver.example.se")
    pool = urllib3.PoolManager(maxsize=a.threads)
    counts, failures = [0] * a.threads, []
    start = time.time()
    deadline = start + a.seconds

    def sender(i):
        # Any failure ends the run with an error: a sender that stopped would lower the rate silently.
        try:
            while time.time() < deadline:
                exchange = AS4SendingExchange(profile=SdkAS4Profile, local_party=sender_party, remote_party=receiver_party)
                headers, body = exchange.build(payload, args)
                response = pool.request("POST", url, body=body, headers=headers, timeout=60, retries=False)
                exchange.mark_sent()
                exchange.receive_signal(response.data)
                if exchange.state.name != "ACKNOWLEDGED":
                    failures.append(exchange.state.name)
                    return
                counts[i] += 1
        except Exception as exc:  # report, do not hide
            failures.append("%s: %s" % (type(exc).__name__, exc))

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - start
    server.shutdown()
    if failures:
        print(json.dumps({"error": "exchange ended " + failures[0]}))
        return 1
    # The limit of this peer: RSA-2048 private-key operations of `cryptography` on one thread.
    _, key = load(a.keys, "sender")
    digest_input = b"x" * 32
    n, t0 = 0, time.time()
    while time.time() - t0 < 1.0:
        key.sign(digest_input, padding.PKCS1v15(), hashes.SHA256())
        n += 1
    print(json.dumps({"exchanges_per_s": sum(counts) / elapsed, "exchanges": sum(counts), "threads": a.threads,
                      "payload_bytes": a.payload_bytes, "rsa2048_private_ops_per_s": n / (time.time() - t0)}))
    return 0


def main():
    # A parent that ignores SIGTERM (as servers using signal sources do) passes that on; restore
    # the default so the test harness can stop this peer.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("receive")
    r.add_argument("--request-headers", required=True)
    r.add_argument("--request-body", required=True)
    r.add_argument("--keys", required=True)
    r.add_argument("--signal-out", required=True)
    r.add_argument("--payload-out", required=True)
    s = sub.add_parser("send")
    s.add_argument("--payload", required=True)
    s.add_argument("--keys", required=True)
    s.add_argument("--request-dir", required=True)
    s.add_argument("--final-recipient", default="0203:receiver.example.se")
    s.add_argument("--timeout", type=float, default=60)
    q = sub.add_parser("post")
    q.add_argument("--payload", required=True)
    q.add_argument("--keys", required=True)
    q.add_argument("--url", required=True)
    q.add_argument("--final-recipient", default="0203:receiver.example.se")
    q.add_argument("--original-sender", default="0203:sender.example.se")
    q.add_argument("--conversation-id", help="the AS4 ConversationId (SDK: the XHE ID)")
    q.add_argument("--action", help="the AS4 Action (default: the SDK message action)")
    q.add_argument("--timeout", type=float, default=120)
    v = sub.add_parser("serve")
    v.add_argument("--keys", required=True)
    v.add_argument("--port", type=int, default=0)
    v.add_argument("--payload-dir", required=True)
    v.add_argument("--port-file", help="write the bound port here once listening")
    b = sub.add_parser("bench")
    b.add_argument("--keys", required=True)
    b.add_argument("--payload-bytes", type=int, default=10240)
    b.add_argument("--threads", type=int, default=4)
    b.add_argument("--seconds", type=float, default=5)
    a = p.parse_args()
    return {"receive": cmd_receive, "send": cmd_send, "post": cmd_post, "serve": cmd_serve, "bench": cmd_bench}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
