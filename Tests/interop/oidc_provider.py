#!/usr/bin/env python3
"""A real OpenID Provider for Kvitto's identity tests: oidc-provider-mock (PyPI) on 127.0.0.1.

Prints `port <N>` once it listens, then answers one command per line on stdin:
  token <sub> <claims-json>   sets the user's claims, runs the authorization code flow as the
                              client `kvitto-tests` and prints `token <id_token>` (an RS256 JWT)
  rotate                      replaces the provider's signing key and prints `rotated <thumbprint>`
  sign <mode> <json>          signs {"header": {...}, "payload": {...}} and prints `token <jwt>`; mode
                              `rs256` uses the provider's own key, `none` makes an unsigned token
                              (alg none), `hs256-public` an HMAC-SHA256 keyed with the provider's
                              public key in PEM (the algorithm-confusion attack)
  quit                        stops
Stops by itself when stdin closes or after 600 s.
"""
import http.client
import json
import sys
import threading
import urllib.parse

import werkzeug.serving
from authlib import jose

import oidc_provider_mock

CLIENT = "kvitto-tests"
REDIRECT = "http://127.0.0.1/callback"


def main() -> None:
    app = oidc_provider_mock.app()
    keys: dict = {}

    @app.post("/_test/rotate")
    def _rotate():  # reaches the provider's own key store through the request globals
        import flask
        store = flask.g.oidc_provider_mock_storage
        store.jwk = jose.RSAKey.generate_key(is_private=True)
        keys["kid"] = store.jwk.as_dict().get("kid") or store.jwk.thumbprint()
        return keys["kid"]

    @app.post("/_test/sign")
    def _sign():
        import base64, hashlib, hmac
        import flask
        from cryptography.hazmat.primitives import serialization
        store = flask.g.oidc_provider_mock_storage
        body = flask.request.get_json()
        header, payload, mode = body["header"], body["payload"], body["mode"]
        b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
        head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
        if mode == "rs256":  # by hand, so that headers a library would refuse (crit) can be made
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding
            signature = store.jwk.get_private_key().sign(head.encode(), padding.PKCS1v15(), hashes.SHA256())
            return head + "." + b64(signature)
        if mode == "none":
            return head + "."
        pem = store.jwk.get_public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
        return head + "." + b64(hmac.new(pem, head.encode(), hashlib.sha256).digest())

    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    threading.Timer(600, lambda: sys.exit(0)).start()
    port = server.server_port
    print(f"port {port}", flush=True)

    def request(method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, dict(resp.getheaders()), data

    for line in sys.stdin:
        parts = line.strip().split(" ", 2)
        if not parts or not parts[0]:
            continue
        if parts[0] == "quit":
            break
        if parts[0] == "rotate":
            status, _, data = request("POST", "/_test/rotate")
            print(f"rotated {data.decode()}", flush=True)
            continue
        if parts[0] == "sign":
            body = json.loads(parts[2])
            body["mode"] = parts[1]
            status, _, data = request("POST", "/_test/sign", json.dumps(body), {"Content-Type": "application/json"})
            print(f"token {data.decode()}" if status == 200 else f"error {status}", flush=True)
            continue
        if parts[0] == "token":
            sub, claims = parts[1], json.loads(parts[2] if len(parts) > 2 else "{}")
            request("PUT", f"/users/{urllib.parse.quote(sub)}", json.dumps(claims), {"Content-Type": "application/json"})
            query = urllib.parse.urlencode({"response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT,
                                            "scope": "openid", "state": "s"})
            status, headers, _ = request("POST", "/oauth2/authorize?" + query, urllib.parse.urlencode({"sub": sub}),
                                         {"Content-Type": "application/x-www-form-urlencoded"})
            location = headers.get("Location", "")
            code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query).get("code", [""])[0]
            form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                           "client_id": CLIENT, "client_secret": "secret"})
            status, _, data = request("POST", "/oauth2/token", form, {"Content-Type": "application/x-www-form-urlencoded"})
            if status != 200:
                print(f"error {status} {data[:200]!r}", flush=True)
                continue
            print(f"token {json.loads(data)['id_token']}", flush=True)
            continue
        print(f"error unknown command {parts[0]}", flush=True)
    server.shutdown()


if __name__ == "__main__":
    main()
