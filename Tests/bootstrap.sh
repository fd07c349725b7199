#!/usr/bin/env bash
# Installs what Kvitto needs on a fresh Debian machine, only what is missing:
# the LMDB C library (liblmdb-dev) and a Python venv with `cryptography` for the independent checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -f /usr/include/lmdb.h ] || need+=(liblmdb-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv --system-site-packages .venv
fi
if ! .venv/bin/python -c 'import cryptography.hazmat.primitives.asymmetric.ed25519, jsonschema' >/dev/null 2>&1; then
  echo "bootstrap: installing cryptography and jsonschema into .venv"
  .venv/bin/python -m pip install -q cryptography jsonschema
fi
