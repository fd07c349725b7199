#!/usr/bin/env bash
# Fuzzes Kvitto's inbound parsers with libFuzzer and AddressSanitizer: builds the KvittoFuzz
# harness (Tests/Fuzz) into .build-fuzz, runs each target for a bounded time from its seed corpus
# (Tests/Fuzz/corpus/<target>) and prints one closing line per target. Exits non-zero when a target
# crashes, traps, leaks, times out or runs out of memory; the reproducer is copied to the findings
# folder. Replay one without sanitizers: swift run KvittoFuzz <target> <file>.
#
# Environment:
#   FUZZ_SECONDS      seconds per target (default 60)
#   FUZZ_TARGETS      targets to run (default "mime soap xhe signal")
#   FUZZ_FINDINGS     where reproducers go (default .build-fuzz/findings)
#   FUZZ_RSS_MB       libFuzzer -rss_limit_mb (default 2048)
#   FUZZ_TIMEOUT      libFuzzer -timeout per input, seconds (default 10)
#   FUZZ_SKIP_BUILD   1: use the existing build
#   FUZZ_FRESH        1: start from the committed seeds only (drop what earlier runs found)
#   KVITTO_BUILD_LOCK a lock file to run the build under (flock), for shared build machines
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"mime soap xhe signal"}
findings=${FUZZ_FINDINGS:-.build-fuzz/findings}
rss=${FUZZ_RSS_MB:-2048}
timeout=${FUZZ_TIMEOUT:-10}
scratch=.build-fuzz

# What the build needs: the C libraries Kvitto links and libFuzzer's runtime in the Swift toolchain.
need=()
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
[ -f /usr/include/lmdb.h ] || need+=(liblmdb-dev)
[ -f /usr/include/libxml2/libxml/c14n.h ] || need+=(libxml2-dev)
[ -f /usr/include/openssl/sha.h ] || need+=(libssl-dev)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
swift_bin=$(dirname "$(readlink -f "$(command -v swift)")")
runtime_dir=$(ls -d "$swift_bin"/../lib/clang/*/lib/linux 2>/dev/null | head -1 || true)
if [ -z "$runtime_dir" ] || [ ! -f "$runtime_dir/libclang_rt.fuzzer-x86_64.a" ]; then
  need+=(libclang-rt-14-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "fuzz: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -n "$runtime_dir" ] && [ ! -f "$runtime_dir/libclang_rt.fuzzer-x86_64.a" ]; then
  # The toolchain has no libFuzzer: use Debian's (same instrumentation interface).
  for f in /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer*-x86_64.a; do
    ln -sf "$f" "$runtime_dir/$(basename "$f")"
  done
fi

if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  lock=()
  if [ -n "${KVITTO_BUILD_LOCK:-}" ]; then lock=(flock "$KVITTO_BUILD_LOCK"); fi
  start=$(date +%s)
  # Only the harness product: every Swift module it uses is instrumented (coverage and ASan);
  # -DKVITTO_FUZZ leaves out the harness's own main, so libFuzzer's main drives it.
  "${lock[@]}" swift build --scratch-path "$scratch" --product KvittoFuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DKVITTO_FUZZ
  echo "fuzz: build took $(( $(date +%s) - start )) s"
fi
bin=$(swift build --scratch-path "$scratch" --show-bin-path)/KvittoFuzz

mkdir -p "$findings"
summary=()
failed=0
for target in $targets; do
  seeds=Tests/Fuzz/corpus/$target
  [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds"; exit 2; }
  # New inputs go to a scratch corpus; the committed seeds are only read.
  work=$scratch/corpus/$target
  if [ "${FUZZ_FRESH:-0}" = 1 ]; then rm -rf "$work"; fi
  mkdir -p "$work"
  dict=()
  case $target in
    mime) dict=(-dict=Tests/Fuzz/dictionaries/mime.dict) ;;
    *) dict=(-dict=Tests/Fuzz/dictionaries/xml.dict) ;;
  esac
  artifacts=$scratch/artifacts/$target
  rm -rf "$artifacts"; mkdir -p "$artifacts"
  log=$scratch/fuzz-$target.log
  echo "== fuzz $target for ${seconds}s (log: $log)"
  set +e
  # Swift's own crash backtracer would read the stack under ASan and report itself; libFuzzer's
  # handler reports the crash instead.
  SWIFT_BACKTRACE=enable=no KVITTO_FUZZ_TARGET=$target "$bin" "$work" "$seeds" "${dict[@]}" \
    -max_total_time="$seconds" -rss_limit_mb="$rss" -timeout="$timeout" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1
  status=$?
  set -e
  execs=$(grep -E '^stat::number_of_executed_units:' "$log" | tail -1 | awk '{print $2}')
  rate=$(grep -E '^stat::average_exec_per_sec:' "$log" | tail -1 | awk '{print $2}')
  peak=$(grep -E '^stat::peak_rss_mb:' "$log" | tail -1 | awk '{print $2}')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  corpus=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | awk '{print $2}')
  crashes=0
  for f in "$artifacts"/*; do
    [ -e "$f" ] || continue
    crashes=$((crashes + 1))
    cp "$f" "$findings/$target-$(basename "$f")"
  done
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  if [ "$crashes" -gt 0 ]; then
    failed=1
    echo "fuzz: $target FAILED (exit $status); reproducers in $findings; the report:"
    grep -E -A30 'Fatal error|==ERROR|^SUMMARY|deadly signal' "$log" | head -60 || tail -40 "$log"
  fi
  summary+=("fuzz $target: ${execs:-?} executions in ${seconds}s (${rate:-?}/s), cov: ${cov:-?} ft: ${ft:-?}, corpus ${corpus:-?}, peak RSS ${peak:-?} MB, crashes: $crashes")
done

printf '%s\n' "${summary[@]}"
exit "$failed"
