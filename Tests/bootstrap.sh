#!/usr/bin/env bash
# Installs what Kvitto needs on a fresh Debian machine, only what is missing:
# the C libraries it links (liblmdb-dev, libxml2-dev, libssl-dev, zlib1g-dev), the independent tools its tests compare
# against (xmlsec1, xmllint from libxml2-utils, Saxon-HE with a Java runtime, openssl, chromium and pdftotext) and a Python
# venv with `cryptography` and `jsonschema` for the independent ledger checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -f /usr/include/lmdb.h ] || need+=(liblmdb-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v cc >/dev/null 2>&1 || need+=(gcc)   # builds a small LMDB test fixture
[ -f /usr/include/libxml2/libxml/c14n.h ] || need+=(libxml2-dev)
[ -f /usr/include/openssl/sha.h ] || need+=(libssl-dev)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)   # the demo's API lines (Tests/api-conformance.sh)
[ -f /usr/share/java/Saxon-HE.jar ] || need+=(libsaxonhe-java)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
# Printable audit reports (PDF) and the console's browser tests: headless Chromium, its WebDriver, pdftotext.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
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
# The independent AS4 access point the interop tests talk to.
if ! .venv/bin/python -c 'import as4, urllib3' >/dev/null 2>&1; then
  echo "bootstrap: installing the as4 package (interop peer) into .venv"
  .venv/bin/python -m pip install -q 'as4==0.2.0' urllib3
fi
# A real OpenID Provider for the identity tests (Tests/interop/oidc_provider.py).
if ! .venv/bin/python -c 'import oidc_provider_mock' >/dev/null 2>&1; then
  echo "bootstrap: installing oidc-provider-mock (OpenID Provider for the identity tests) into .venv"
  .venv/bin/python -m pip install -q 'oidc-provider-mock==0.3.4'
fi
# The API's independent checkers (Tests/api-conformance.sh).
if ! .venv/bin/python -c 'import schemathesis, openapi_spec_validator' >/dev/null 2>&1; then
  echo "bootstrap: installing schemathesis and openapi-spec-validator into .venv"
  .venv/bin/python -m pip install -q 'schemathesis==4.32.5' 'openapi-spec-validator==0.9.0'
fi
# The web console's browser tests drive chromium through chromium-driver (Tests/console/).
if ! .venv/bin/python -c 'import selenium' >/dev/null 2>&1; then
  echo "bootstrap: installing selenium (drives chromium for the console tests) into .venv"
  .venv/bin/python -m pip install -q 'selenium==4.51.0'
fi
# The event streams' independent consumers (EventStreamAPITests, Tests/api-conformance.sh).
if ! .venv/bin/python -c 'import httpx_sse, cloudevents.core.formats.json, standardwebhooks' >/dev/null 2>&1; then
  echo "bootstrap: installing httpx-sse, cloudevents and standardwebhooks into .venv"
  .venv/bin/python -m pip install -q 'httpx-sse==0.4.3' 'cloudevents==2.2.0' 'standardwebhooks==1.1.0'
fi
