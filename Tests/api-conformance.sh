#!/usr/bin/env bash
# The HTTP API against independent checkers, bounded:
#  1. openapi-spec-validator (PyPI) accepts Schemas/openapi.yaml;
#  2. the README's demo: after `kvitto demo`, node B runs with `kvitto serve` and the curl lines the
#     demo printed list the recipient's mailbox, read the message (with a development token) and
#     show the read as message.accessed in its trace;
#     and the event stream (GET /v1/events) from the beginning holds the demo message's arrival
#     as a CloudEvent (parsed by the PyPI cloudevents SDK);
#  3. schemathesis (PyPI) runs every operation but the never-ending event stream against the running node with that token for at most
#     SCHEMATHESIS_SECONDS (default 120) and must find no 5xx and no answer that violates the document
#     (Tests/schemathesis.toml: a request the rules refuse though the document admits it is 422).
#     One worker: with two, Hypothesis parses sources in two threads at once, which CPython 3.11
#     can fail at ("AST constructor recursion depth mismatch"), a runtime error of the checker.
# Usage: Tests/api-conformance.sh KVITTO_BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1
export PATH="$(dirname "$bin"):$PATH"
tmp=$(mktemp -d)
serve_pid=""
cleanup() { [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

echo "-- openapi-spec-validator Schemas/openapi.yaml"
.venv/bin/python -m openapi_spec_validator Schemas/openapi.yaml

echo "-- kvitto demo, then kvitto serve on node B and the demo's curl lines"
"$bin" demo --dir "$tmp/demo" > "$tmp/demo.out"
node="$tmp/demo/node-b"
# The case officer also manages Region B, so that schemathesis reaches the granting and
# address-book operations past their refusals.
"$bin" grant --node "$node" --grantee pnr:197001011234 --scope participant:0203:b.example.se --rights manage \
  --reason "schemathesis exercises the administration operations" > /dev/null
# Webhooks on, to 127.0.0.1 only (schemathesis creates webhooks with made-up URLs; none leaves the host).
.venv/bin/python - "$node/kvitto.json" <<'PY'
import json, sys
path = sys.argv[1]
with open(path) as f:
    config = json.load(f)
config["api"]["webhooks"] = {"allowed_hosts": ["127.0.0.1"], "trust_roots": "trust/tls/ca.crt", "timeout_seconds": 2}
with open(path, "w") as f:
    json.dump(config, f, indent=2)
PY
"$bin" serve --node "$node" --log-level warning --api-port-file "$tmp/api.port" 2> "$tmp/serve.log" &
serve_pid=$!
for _ in $(seq 300); do [ -s "$tmp/api.port" ] && break; sleep 0.1; done
[ -s "$tmp/api.port" ] || { echo "the API did not start:"; cat "$tmp/serve.log"; exit 1; }
mapfile -t curls < <(grep '^  curl ' "$tmp/demo.out")
[ "${#curls[@]}" -eq 3 ] || { echo "the demo printed ${#curls[@]} curl lines, expected 3"; exit 1; }
listing=$(bash -c "${curls[0]}")
grep -Eq '"label" ?: ?"Kallelse' <<<"$listing" || { echo "mailbox listing lacks the demo message: $listing"; exit 1; }
content=$(bash -c "${curls[1]}")
grep -q 'messagePayload' <<<"$content" || { echo "content read failed: ${content:0:400}"; exit 1; }
trace=$(bash -c "${curls[2]}")
.venv/bin/python - "$trace" <<'PY'
import json, sys
events = json.loads(sys.argv[1])["events"]
reads = [e for e in events if e["type"] == "message.accessed" and e["actor"] == "pnr:197001011234" and e["payload"].get("interface") == "api"]
assert reads, "no message.accessed by the API caller in the trace"
print(f"   trace: {len(events)} events, the API read recorded at seq {reads[-1]['seq']}")
PY

echo "-- the event stream, then schemathesis against https://127.0.0.1:$(cat "$tmp/api.port") (${SCHEMATHESIS_SECONDS:-120} s)"
token=$("$bin" token --node "$node" --pnr 197001011234 --lifetime 3600)
stream=$(curl -sS --max-time 3 --cacert "$node/trust/tls/ca.crt" -H "Authorization: Bearer $token" \
  "https://127.0.0.1:$(cat "$tmp/api.port")/v1/events?after=0&heartbeat=1" || true)
.venv/bin/python - "$stream" <<'PY'
import sys
from cloudevents.core.formats.json import JSONFormat
frames = [f for f in sys.argv[1].split("\n\n") if f.startswith("id: ")]
events = [JSONFormat().read(None, [l for l in f.split("\n") if l.startswith("data: ")][0][6:].encode()) for f in frames]
received = [e for e in events if e.get_type() == "se.sdk.message.received"]
assert received, f"the event stream lacks the demo message's arrival: {sys.argv[1][:600]}"
print(f"   events: {len(events)} CloudEvents, the arrival at seq {received[0].get_id()}")
PY

# --request-timeout 60 --max-response-time 60: schemathesis sends submissions of up to 64 MiB; the debug build CI tests
# parses a 48 MiB multipart body in about 20 s (the runtime's multipart parser unspecialised),
# the release build in 1.5 s.
.venv/bin/schemathesis --config-file Tests/schemathesis.toml run Schemas/openapi.yaml --url "https://127.0.0.1:$(cat "$tmp/api.port")" \
  -H "Authorization: Bearer $token" --tls-verify "$node/trust/tls/ca.crt" --checks all --request-timeout 60 --max-response-time 60 \
  --exclude-operation-id streamEvents --max-examples 20 --max-time "${SCHEMATHESIS_SECONDS:-120}" --workers 1 --generation-deterministic --no-color > "$tmp/schemathesis.out" 2>&1 || { cat "$tmp/schemathesis.out"; exit 1; }
tail -12 "$tmp/schemathesis.out"
