#!/usr/bin/env python3
"""The web console in a real browser: Debian's chromium (headless) driven by selenium through
chromium-driver, signing in at a real OpenID provider (oidc-provider-mock from PyPI).

Run by Tests/NodeTests/ConsoleBrowserTests.swift:
 1. starts the provider on 127.0.0.1 with PKCE required (oidc-provider-mock 0.3.4 registers the
    authorization code grant without authlib's CodeChallenge; here it is added, and a code issued
    without a challenge, or redeemed without the right verifier, is refused), prints
    `issuer <url>`;
 2. reads one JSON line from stdin: {"console": "https://127.0.0.1:<port>", "users": {sub: claims},
    "reader": sub, "outsider": sub, "search": words, "label": subject, "out": folder};
 3. drives the scenario (sign in, search, timeline, content read, evidence download, access log,
    reports, address book, a forged POST, sign out, the other participant's user) and prints one
    JSON line: {"ok": true, "evidence": file, ...} or {"ok": false, "step": ..., "error": ...}.
Screenshots go to <out>/screenshots. Every wait is bounded; the script stops itself after 300 s.
"""
import http.client
import json
import os
import ssl
import sys
import threading
import time
import traceback
import urllib.parse

import werkzeug.serving
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge

import oidc_provider_mock
import oidc_provider_mock._app as mock_app

CHALLENGES: dict = {}


class StrictCodeChallenge(CodeChallenge):
    """PKCE required of every client: no challenge, no code; the challenge kept per code."""

    def validate_code_challenge(self, grant, redirect_uri):
        if not grant.request.payload.data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'")
        if grant.request.payload.data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required with S256")
        return super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result):
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("PKCE is required: missing 'code_verifier'")
        return super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code):
        return CHALLENGES.get(authorization_code.code, (None, None))[0]

    def get_authorization_code_challenge_method(self, authorization_code):
        return CHALLENGES.get(authorization_code.code, (None, None))[1]


def strict_provider():
    original_save = mock_app.AuthorizationCodeGrant.save_authorization_code

    def save(self, code, request):
        data = request.payload.data
        CHALLENGES[code] = (data.get("code_challenge"), data.get("code_challenge_method"))
        return original_save(self, code, request)

    mock_app.AuthorizationCodeGrant.save_authorization_code = save
    # The provider makes its authorization server when the app is built: the grant is registered
    # with the PKCE extension there.
    server_class = mock_app.flask_oauth2.AuthorizationServer
    register = server_class.register_grant

    def register_strict(self, grant_cls, extensions=None):
        if grant_cls is mock_app.AuthorizationCodeGrant:
            extensions = list(extensions or []) + [StrictCodeChallenge(required=True)]
        return register(self, grant_cls, extensions)

    server_class.register_grant = register_strict
    app = oidc_provider_mock.app(require_nonce=True)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def provider_request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


class Scenario:
    def __init__(self, config, provider_port):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.c = config
        self.base = config["console"]
        self.provider = provider_port
        self.out = config["out"]
        self.shots = os.path.join(self.out, "screenshots")
        self.downloads = os.path.join(self.out, "downloads")
        os.makedirs(self.shots, exist_ok=True)
        os.makedirs(self.downloads, exist_ok=True)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000",
                  "--lang=sv-SE", "--no-first-run", "--disable-extensions"]:
            options.add_argument(a)
        # The node's TLS certificate comes from a throwaway CA of the test.
        options.accept_insecure_certs = True
        options.add_experimental_option("prefs", {"download.default_directory": self.downloads,
                                                  "download.prompt_for_download": False, "safebrowsing.enabled": False})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.driver.set_page_load_timeout(30)
        self.step = "start"

    def find(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def finds(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_for(self, what, predicate, seconds=20):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                if predicate():
                    return
            except Exception:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{what}: not within {seconds} s (at {self.driver.current_url})")

    def shot(self, name):
        self.driver.save_screenshot(os.path.join(self.shots, name + ".png"))

    def sign_in(self, sub):
        self.driver.get(self.base + "/console/")
        self.find("#sign-in").click()
        # The provider's own page: the person types who they are.
        self.wait_for("the provider's authorization form", lambda: self.finds("input[name=sub]"))
        field = self.find("input[name=sub]")
        field.send_keys(sub)
        field.submit()
        self.wait_for("back at the console, signed in", lambda: self.driver.current_url.startswith(self.base + "/console/")
                      and self.finds("#who"))

    def download(self, prefix, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            names = [n for n in os.listdir(self.downloads)
                     if n.startswith(prefix) and not n.startswith(".") and not n.endswith(".crdownload")]
            if names:
                path = os.path.join(self.downloads, names[0])
                time.sleep(0.2)
                return path
            time.sleep(0.1)
        raise AssertionError(f"no download {prefix}* within {seconds} s: {os.listdir(self.downloads)}")

    def request(self, method, path, headers=None, body=None, cookies=True):
        """A request outside the browser (with the browser's cookies unless told otherwise)."""
        u = urllib.parse.urlparse(self.base)
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=10, context=ssl._create_unverified_context())
        h = dict(headers or {})
        if cookies and "Cookie" not in h:
            h["Cookie"] = "; ".join(f"{c['name']}={c['value']}" for c in self.driver.get_cookies())
        conn.request(method, path, body, h)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, resp.headers.get_all("Set-Cookie") or []

    def post(self, path, fields, origin=None):
        """A POST outside the browser, with the browser's session cookie: what a forged form sends."""
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in self.driver.get_cookies())
        u = urllib.parse.urlparse(self.base)
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=10, context=ssl._create_unverified_context())
        headers = {"Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded"}
        if origin:
            headers["Origin"] = origin
        conn.request("POST", path, urllib.parse.urlencode(fields), headers)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, body, dict(resp.getheaders())

    def run(self):
        c, result = self.c, {}
        for sub, claims in c["users"].items():
            status, _ = provider_request(self.provider, "PUT", f"/users/{urllib.parse.quote(sub)}", json.dumps(claims),
                                         {"Content-Type": "application/json"})
            assert status in (200, 204), f"the provider refused the claims of {sub}: {status}"

        self.step = "headers"
        self.driver.get(self.base + "/console/")
        self.shot("sign-in")
        status, headers, _, _ = self.request("GET", "/console/", cookies=False)
        result["headers"] = {k: headers.get(k) for k in ["content-security-policy", "x-content-type-options", "cache-control",
                                                          "referrer-policy", "x-frame-options"]}
        status, headers, _, _ = self.request("GET", "/console/no-such-page", cookies=False)
        result["not_found"] = [status, "csp" if headers.get("content-security-policy") else "no csp"]

        self.step = "sign-in refusals"
        status, headers, _, set_cookies = self.request("GET", "/console/login", cookies=False)
        location = urllib.parse.urlparse(headers.get("location", ""))
        asked = urllib.parse.parse_qs(location.query)
        result["login"] = {"status": status, "challenge_method": asked.get("code_challenge_method", [""])[0],
                           "has_challenge": bool(asked.get("code_challenge")), "has_nonce": bool(asked.get("nonce")),
                           "cookie": [c.split("=", 1)[0] + ";" + ";".join(sorted(p.strip() for p in c.split(";")[1:]))
                                      for c in set_cookies]}
        login_cookie = set_cookies[0].split(";", 1)[0]
        state = asked.get("state", [""])[0]
        refusals = []
        refusals.append(self.request("GET", "/console/callback?" + urllib.parse.urlencode({"code": "x", "state": state}),
                                     cookies=False)[0])
        refusals.append(self.request("GET", "/console/callback?" + urllib.parse.urlencode({"code": "x", "state": "wrong"}),
                                     headers={"Cookie": login_cookie})[0])
        # The same login cookie again, with its right state, and a code the provider never issued.
        refusals.append(self.request("GET", "/console/callback?" + urllib.parse.urlencode({"code": "x", "state": state}),
                                     headers={"Cookie": login_cookie})[0])
        result["callback_refusals"] = refusals
        result["pkce_at_provider"] = self.provider_pkce_checks()

        self.step = "sign in"
        self.sign_in(c["reader"])
        result["actor"] = self.find("#who").text
        self.shot("mailboxes")
        links = [a for a in self.finds("table a") if "/console/mailbox?" in a.get_attribute("href")]
        result["mailboxes"] = [a.text for a in links]
        assert links, "the reader sees no mailbox"

        self.step = "search"
        links[0].click()
        self.wait_for("the mailbox page", lambda: self.finds("#q"))
        self.find("#q").send_keys(c["search"])
        self.find("#search").click()
        self.wait_for("search results", lambda: self.finds("a.message"))
        found = [a.text for a in self.finds("a.message")]
        result["found"] = found
        assert c["label"] in found, f"searching {c['search']!r} did not find {c['label']!r}: {found}"
        self.shot("search")

        self.step = "timeline"
        [a for a in self.finds("a.message") if a.text == c["label"]][0].click()
        self.wait_for("the timeline", lambda: self.finds("#timeline td.event-type"))
        result["message_url"] = self.driver.current_url
        result["timeline"] = [td.text for td in self.finds("#timeline td.event-type")]
        self.shot("message")

        self.step = "read content"
        self.find("#purpose").send_keys("Ärende 2026/14")
        self.find("#read").click()
        result["content"] = self.download("")
        os.rename(result["content"], os.path.join(self.out, "content.xml"))
        result["content"] = os.path.join(self.out, "content.xml")

        self.step = "evidence"
        self.driver.get(result["message_url"])
        self.find("#evidence").click()
        result["evidence"] = self.download("evidence-")

        self.step = "access log"
        self.driver.get(self.base + "/console/audit")
        self.wait_for("the access log", lambda: self.finds("#audit td.event-type"))
        rows = [[td.text for td in tr.find_elements("css selector", "td")] for tr in self.finds("#audit tbody tr")]
        result["audit"] = rows
        self.shot("audit")

        self.step = "reports"
        self.driver.get(self.base + "/console/reports")
        self.shot("reports")
        self.find("#actor").send_keys(result["actor"])
        self.find("#show").click()
        self.wait_for("the printable report", lambda: result["actor"] in self.driver.page_source)
        result["report_title"] = self.driver.title
        self.shot("report")

        self.step = "address book"
        self.driver.get(self.base + "/console/address-book")
        self.shot("address-book")
        result["organizations"] = [td.text for td in self.finds("#organizations td.code")]

        self.step = "english"
        self.driver.get(self.base + "/console/?lang=en")
        result["english_lang"] = self.find("html").get_attribute("lang")
        result["english_title"] = self.find("h1").text
        self.driver.get(self.base + "/console/?lang=sv")

        self.step = "cross-site pages"
        result["cross_site_get"] = self.request("GET", "/console/audit", headers={"Sec-Fetch-Site": "cross-site"})[:2][0]
        result["same_origin_get"] = self.request("GET", "/console/audit", headers={"Sec-Fetch-Site": "same-origin"})[0]
        path = urllib.parse.urlparse(result["message_url"]).path
        self.driver.get(self.base + "/console/")
        token = self.find("input[name=csrf]").get_attribute("value")
        result["read_without_purpose"] = self.post(path + "/content", {"csrf": token})[0]

        self.step = "forged posts"
        csrf = self.find("input[name=csrf]").get_attribute("value")
        result["forged_no_token"] = self.post("/console/logout", {})[0]
        result["forged_wrong_token"] = self.post("/console/logout", {"csrf": "x" * len(csrf)})[0]
        result["forged_other_origin"] = self.post("/console/logout", {"csrf": csrf}, origin="https://evil.example")[0]
        self.driver.get(self.base + "/console/")
        result["still_signed_in"] = bool(self.finds("#who"))

        self.step = "sign out"
        old_session = "; ".join(f"{c['name']}={c['value']}" for c in self.driver.get_cookies())
        self.find("#sign-out").click()
        self.wait_for("the sign-in page", lambda: self.finds("#sign-in"))
        result["signed_out_notice"] = bool(self.finds("#signed-out"))
        result["provider_sign_out"] = bool(self.finds("#provider-sign-out"))
        self.driver.get(self.base + "/console/audit")
        result["after_sign_out"] = "signed-in" if self.finds("#who") else "sign-in page"
        status, headers, _, _ = self.request("GET", "/console/audit", headers={"Cookie": old_session})
        result["old_session_replayed"] = [status, headers.get("location")]

        self.step = "outsider"
        self.sign_in(c["outsider"])
        result["outsider_actor"] = self.find("#who").text
        result["outsider_mailboxes"] = [a.text for a in self.finds("table a") if "/console/mailbox?" in a.get_attribute("href")]
        self.driver.get(result["message_url"])
        result["outsider_message_title"] = self.find("h1").text
        result["outsider_message_has_timeline"] = bool(self.finds("#timeline"))
        self.driver.get(self.base + "/console/audit?" + urllib.parse.urlencode({"actor": result["actor"]}))
        result["outsider_audit_rows"] = len(self.finds("#audit tbody tr"))
        self.shot("outsider")
        before = set(os.listdir(self.downloads))
        self.driver.get(result["message_url"] + "/evidence")
        time.sleep(1.0)
        result["outsider_downloads"] = sorted(set(os.listdir(self.downloads)) - before)
        result["outsider_evidence_title"] = self.find("h1").text
        self.driver.get(self.base + "/console/deliveries")
        result["outsider_deliveries"] = "403" if not self.finds("#pending") and self.find("h1").text == "Leveranser" else "shown"
        self.find("#sign-out").click()
        self.wait_for("the sign-in page", lambda: self.finds("#sign-in"))

        self.step = "operator"
        self.sign_in(c["operator"])
        result["operator_actor"] = self.find("#who").text
        self.driver.get(self.base + "/console/deliveries")
        self.wait_for("the waiting delivery", lambda: self.finds("#pending button.retry"))
        result["pending"] = [a.text for a in self.finds("#pending td a")]
        self.shot("deliveries")
        row = [tr for tr in self.finds("#pending tbody tr") if c["waiting"] in tr.text][0]
        row.find_element("css selector", "input[name=reason]").send_keys("Mottagaren är tillbaka")
        row.find_element("css selector", "button.retry").click()
        self.wait_for("the notice", lambda: self.finds("#notice"))
        result["retry_notice"] = self.find("#notice").text
        result["ok"] = True
        return result

    def provider_pkce_checks(self):
        """The provider refuses a code without PKCE, and a code redeemed with the wrong verifier."""
        import base64
        import hashlib
        out = {}
        verifier = "v" * 50
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        redirect = self.base + "/console/callback"

        def authorize(extra):
            query = urllib.parse.urlencode({"response_type": "code", "client_id": "kvitto-console", "redirect_uri": redirect,
                                            "scope": "openid", "state": "s", "nonce": "n", **extra})
            status, data = None, None
            conn = http.client.HTTPConnection("127.0.0.1", self.provider, timeout=10)
            conn.request("POST", "/oauth2/authorize?" + query, urllib.parse.urlencode({"sub": "anna"}),
                         {"Content-Type": "application/x-www-form-urlencoded"})
            resp = conn.getresponse()
            resp.read()
            location = resp.getheader("Location", "")
            conn.close()
            return resp.status, urllib.parse.parse_qs(urllib.parse.urlparse(location).query)

        status, params = authorize({})
        out["without_challenge"] = "refused" if "code" not in params else "code issued"
        status, params = authorize({"code_challenge": challenge, "code_challenge_method": "S256"})
        code = params.get("code", [""])[0]

        def redeem(v):
            form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "client_id": "kvitto-console",
                    "client_secret": "console-test-secret"}
            if v is not None:
                form["code_verifier"] = v
            status, _ = provider_request(self.provider, "POST", "/oauth2/token", urllib.parse.urlencode(form),
                                         {"Content-Type": "application/x-www-form-urlencoded"})
            return status

        out["wrong_verifier"] = redeem("w" * 50)
        out["no_verifier"] = redeem(None)
        return out

    def close(self):
        try:
            self.driver.quit()
        except Exception:
            pass


def main():
    threading.Timer(300, lambda: os._exit(3)).start()
    server = strict_provider()
    print(f"issuer http://127.0.0.1:{server.server_port}", flush=True)
    line = sys.stdin.readline()
    if not line.strip():
        server.shutdown()
        os._exit(0)
    config = json.loads(line)
    scenario = None
    try:
        scenario = Scenario(config, server.server_port)
        result = scenario.run()
    except Exception as error:
        result = {"ok": False, "step": scenario.step if scenario else "browser", "error": f"{type(error).__name__}: {error}",
                  "trace": traceback.format_exc()[-2000:]}
        if scenario:
            try:
                scenario.shot("failure")
                result["url"] = scenario.driver.current_url
                result["page"] = scenario.driver.page_source[:3000]
            except Exception:
                pass
    finally:
        if scenario:
            scenario.close()
    print(json.dumps(result, ensure_ascii=False), flush=True)
    server.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
