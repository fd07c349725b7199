#!/usr/bin/env bash
# Runs every test of Kvitto: the Swift test suites (XCTest), the independent Python check of the
# published ledger vectors and of a freshly written ledger, and a bounded libFuzzer run of the inbound
# parsers (60 s per target; KVITTO_SKIP_FUZZ=1 skips it). Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Tests/bootstrap.sh

swift build --build-tests
log=$(mktemp)
set +e
swift test --skip-build --disable-swift-testing 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
swift_total=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -1 | sed -E 's/.*Executed ([0-9]+) tests?, with ([0-9]+) failures?.*/\1 \2/')
rm -f "$log"
read -r s_run s_failed <<<"${swift_total:-0 1}"

py_passed=0; py_failed=0
export KVITTO_EVENT_SCHEMA="$PWD/Schemas/ledger-event.schema.json"
echo "== independent check (Python + cryptography) of Schemas/ledger-test-vectors.json"
if .venv/bin/python Tests/vectors/check_ledger_vectors.py --self-test Schemas/ledger-test-vectors.json; then
  py_passed=$((py_passed+1)); else py_failed=$((py_failed+1)); fi

echo "== independent check (Python, standard library) of the RFC 6962 vectors the Merkle tests use"
if .venv/bin/python Tests/vectors/check_rfc6962_vectors.py; then
  py_passed=$((py_passed+1)); else py_failed=$((py_failed+1)); fi

echo "== independent check of ledgers written by kvitto ledger demo and by both nodes of kvitto demo (the nodes' through kvitto ledger export)"
tmp=$(mktemp -d)
bin=$(swift build --show-bin-path)/kvitto
"$bin" ledger demo --dir "$tmp/ledger" >/dev/null
"$bin" demo --dir "$tmp/nodes" >/dev/null
"$bin" ledger show --ledger "$tmp/ledger" --json --limit 100000 > "$tmp/events.jsonl"
if .venv/bin/python Tests/vectors/check_ledger_vectors.py --events "$tmp/events.jsonl"; then
  py_passed=$((py_passed+1)); else py_failed=$((py_failed+1)); fi
for node in node-a node-b; do
  "$bin" ledger export --ledger "$tmp/nodes/$node/ledger" --to "$tmp/export-$node" >/dev/null
  if .venv/bin/python Tests/vectors/check_ledger_vectors.py --events "$tmp/export-$node/events.jsonl" --blobs "$tmp/export-$node/blobs"; then
    py_passed=$((py_passed+1)); else py_failed=$((py_failed+1)); fi
done

echo "== independent blob check after kvitto ledger erase-blob, then on a blob removed without an event (must fail)"
ledger="$tmp/nodes/node-b/ledger"
"$bin" ledger show --ledger "$ledger" --json --limit 100000 | grep -o '"sha256":"[0-9a-f]*"' | cut -d'"' -f4 | sort -u > "$tmp/hashes"
"$bin" ledger erase-blob --ledger "$ledger" --sha256 "$(sed -n 1p "$tmp/hashes")" \
  --rule "Gallringsbeslut 2026:14" --reason "retention period over" >/dev/null
# (Small blobs live inside the ledger's LMDB file: the independent checker reads them from an export.)
"$bin" ledger export --ledger "$ledger" --to "$tmp/export-erased" >/dev/null
if .venv/bin/python Tests/vectors/check_ledger_vectors.py --events "$tmp/export-erased/events.jsonl" --blobs "$tmp/export-erased/blobs"; then
  py_passed=$((py_passed+1)); else py_failed=$((py_failed+1)); fi
second=$(sed -n 2p "$tmp/hashes")
rm -f "$tmp/export-erased/blobs/${second:0:2}/${second:2:2}/$second"
if .venv/bin/python Tests/vectors/check_ledger_vectors.py --events "$tmp/export-erased/events.jsonl" --blobs "$tmp/export-erased/blobs"; then
  echo "the independent check accepted a blob removed without a blob.erased event"; py_failed=$((py_failed+1))
else
  py_passed=$((py_passed+1))
fi
rm -rf "$tmp"

echo "== the HTTP API: openapi-spec-validator, the demo's curl lines, schemathesis (Tests/api-conformance.sh)"
if bash Tests/api-conformance.sh "$bin"; then py_passed=$((py_passed+1)); else py_failed=$((py_failed+1)); fi

echo "== the fuzz seed corpora replayed through the inbound parsers (no sanitizers)"
for t in mime soap xhe signal; do
  if "$(dirname "$bin")/KvittoFuzz" "$t" "Tests/Fuzz/corpus/$t"; then py_passed=$((py_passed+1)); else py_failed=$((py_failed+1)); fi
done

echo "== fuzzing the inbound parsers: libFuzzer + ASan, ${FUZZ_SECONDS:-60} s per target (Tests/fuzz.sh)"
if [ "${KVITTO_SKIP_FUZZ:-0}" != 1 ]; then
  if bash Tests/fuzz.sh; then py_passed=$((py_passed+1)); else py_failed=$((py_failed+1)); fi
fi

passed=$((s_run - s_failed + py_passed))
failed=$((s_failed + py_failed))
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "tests: ${passed} passed, ${failed} failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
