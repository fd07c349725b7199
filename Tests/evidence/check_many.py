#!/usr/bin/env python3
"""Runs the independent verifier (verify_bundle.py) on many bundles in one process, for the
tamper tests: one JSON line per file, {"file", "ok", "code", "region", "pointer"}."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import verify_bundle  # noqa: E402

for path in sys.argv[1:]:
    with open(path, "rb") as f:
        data = f.read()
    report = verify_bundle.verify(data, xmlsec=False)
    failure = report.get("failure") or {}
    print(json.dumps({"file": path, "ok": report["ok"], "code": failure.get("code"),
                      "region": failure.get("region"), "pointer": failure.get("pointer")}), flush=True)
