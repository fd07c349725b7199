#!/usr/bin/env python3
"""Independent check of Kvitto ledger events, written only from Schemas/ledger-events.md.

Uses the Python standard library and the `cryptography` package, nothing of Kvitto's code.

  check_ledger_vectors.py VECTORS.json        test vectors: hashes, signatures, chain, Merkle roots, proofs
  check_ledger_vectors.py --events FILE.jsonl a ledger export (`kvitto ledger show --json`): every event
  check_ledger_vectors.py --self-test VECTORS.json   also proves the checks fail on altered data
  check_ledger_vectors.py --events FILE.jsonl --blobs DIR   also every blob the events reference
                                              (Schemas/ledger-events.md, "Blob references and erasure")

With the environment variable KVITTO_EVENT_SCHEMA naming Schemas/ledger-event.schema.json and the
`jsonschema` package installed, every event is also validated against the JSON Schema.

Exit status 0 when everything verifies, 1 otherwise (the first problem is printed).
"""
import base64
import copy
import hashlib
import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Bad(Exception):
    pass


# --- RFC 8785 canonical JSON for the subset Kvitto uses (no floats) ---------------------------
def jcs(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > 2**53 - 1:
            raise Bad("integer outside the I-JSON range")
        return str(value)
    if isinstance(value, float):
        raise Bad("floats are not part of Kvitto's canonical form")
    if isinstance(value, str):
        out = ['"']
        for ch in value:
            o = ord(ch)
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch == "\b":
                out.append("\\b")
            elif ch == "\f":
                out.append("\\f")
            elif ch == "\n":
                out.append("\\n")
            elif ch == "\r":
                out.append("\\r")
            elif ch == "\t":
                out.append("\\t")
            elif o < 0x20:
                out.append("\\u%04x" % o)
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value.keys(), key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(value[k]) for k in keys) + "}"
    raise Bad("unsupported JSON value %r" % (value,))


def canonical_body(event):
    body = {k: v for k, v in event.items() if k not in ("hash", "sig")}
    return jcs(body).encode("utf-8")


def key_id(raw_public_key):
    return hashlib.sha256(raw_public_key).digest()[:8].hex()


# --- RFC 6962 / 9162 Merkle tree (shared with check_rfc6962_vectors.py) -----------------------
from rfc6962 import leaf_hash, root_from_leaf_hashes as mth, verify_consistency, verify_inclusion  # noqa: E402


# --- events --------------------------------------------------------------------------------
def schema_validator():
    path = os.environ.get("KVITTO_EVENT_SCHEMA")
    if not path:
        return None
    import jsonschema  # only when asked for
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def check_schema(events):
    validator = schema_validator()
    if validator is None:
        return
    for i, e in enumerate(events):
        errors = sorted(validator.iter_errors(e), key=lambda x: list(x.path))
        if errors:
            raise Bad("seq %d: does not match the JSON Schema: %s" % (i + 1, errors[0].message))


def check_events(events, trusted_keys=None):
    """Checks hash, chain, seq, key, signature, key rotation and checkpoint roots of a whole log."""
    check_schema(events)
    prev = bytes(32)
    active = None
    leaves = []
    for i, e in enumerate(events):
        seq = i + 1
        where = "seq %d" % seq
        if e.get("seq") != seq:
            raise Bad("%s: seq is %r" % (where, e.get("seq")))
        body = canonical_body(e)
        digest = hashlib.sha256(body).digest()
        if digest.hex() != e["hash"]:
            raise Bad("%s: hash mismatch" % where)
        if bytes.fromhex(e["prev"]) != prev:
            raise Bad("%s: prev does not match the previous event's hash" % where)
        if seq == 1:
            if e["type"] != "ledger.created":
                raise Bad("seq 1 is not ledger.created")
            raw = base64.b64decode(e["payload"]["public_key"])
            if key_id(raw) != e["key"] or e["payload"]["key"] != e["key"]:
                raise Bad("seq 1: genesis key id does not match its public key")
            if trusted_keys is not None and key_id(raw) not in trusted_keys:
                raise Bad("seq 1: genesis key is not the trusted key")
            active = (e["key"], raw)
        if e["key"] != active[0]:
            raise Bad("%s: signed by %s, active key is %s" % (where, e["key"], active[0]))
        try:
            Ed25519PublicKey.from_public_bytes(active[1]).verify(base64.b64decode(e["sig"]), digest)
        except InvalidSignature:
            raise Bad("%s: bad signature" % where)
        if e["type"] == "node.key.rotated":
            raw = base64.b64decode(e["payload"]["public_key"])
            if key_id(raw) != e["payload"]["key"] or e["payload"]["previous_key"] != active[0]:
                raise Bad("%s: malformed key rotation" % where)
            active = (e["payload"]["key"], raw)
        if e["type"] == "ledger.checkpoint":
            if e["payload"]["tree_size"] != seq - 1 or e["payload"]["root"] != mth(leaves).hex():
                raise Bad("%s: checkpoint root does not match the events before it" % where)
        leaves.append(leaf_hash(digest))
        prev = digest
    return leaves


def check_vectors(v):
    events = v["events"]
    check_schema(events)
    for e, text in zip(events, v["canonical"]):
        if canonical_body(e).decode("utf-8") != text:
            raise Bad("seq %d: canonical bytes differ from the published ones" % e["seq"])
    for k in v["keys"]:
        seed = bytes.fromhex(k["seed_hex"])
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives import serialization
        pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if base64.b64encode(pub).decode() != k["public_key"] or key_id(pub) != k["key_id"]:
            raise Bad("key %s: seed, public key and key id disagree" % k["key_id"])
    leaves = check_events(events, trusted_keys={v["keys"][0]["key_id"]})
    m = v["merkle"]
    if [h.hex() for h in leaves] != m["leaf_hashes"]:
        raise Bad("leaf hashes differ")
    for size, root in enumerate(m["roots"]):
        if mth(leaves[:size]).hex() != root:
            raise Bad("root of size %d differs" % size)
    for c in m["inclusion"]:
        root = bytes.fromhex(m["roots"][c["tree_size"]])
        path = [bytes.fromhex(h) for h in c["path"]]
        if not verify_inclusion(c["leaf_index"], c["tree_size"], leaves[c["leaf_index"]], path, root):
            raise Bad("inclusion proof %d/%d does not verify" % (c["leaf_index"], c["tree_size"]))
    for c in m["consistency"]:
        r1 = bytes.fromhex(m["roots"][c["old_size"]])
        r2 = bytes.fromhex(m["roots"][c["new_size"]])
        if not verify_consistency(c["old_size"], c["new_size"], r1, r2, [bytes.fromhex(h) for h in c["proof"]]):
            raise Bad("consistency proof %d→%d does not verify" % (c["old_size"], c["new_size"]))
    return len(events), len(m["inclusion"]), len(m["consistency"])


def self_test(v):
    """Each alteration must be caught; a checker that cannot fail proves nothing."""
    def altered(mutate, expect=""):
        w = copy.deepcopy(v)
        mutate(w)
        try:
            check_vectors(w)
        except Bad as e:
            return expect in str(e)
        return False
    cases = {
        "payload text": lambda w: w["events"][3]["payload"].__setitem__("to", "mailbox:x@y.se"),
        "signature": lambda w: w["events"][2].__setitem__("sig", base64.b64encode(bytes(64)).decode()),
        "swapped events": lambda w: w["events"].__setitem__(slice(2, 4), [w["events"][3], w["events"][2]]),
        "checkpoint root": lambda w: w["events"][5]["payload"].__setitem__("root", "00" * 32),
        "inclusion path": lambda w: w["merkle"]["inclusion"][3]["path"].__setitem__(0, "11" * 32),
        "consistency proof": lambda w: w["merkle"]["consistency"][1]["proof"].reverse(),
    }
    expected = {}
    if schema_validator() is not None:
        cases["schema (extra member)"] = lambda w: w["events"][1].__setitem__("extra", 1)
        expected["schema (extra member)"] = "JSON Schema"
    for name, mutate in cases.items():
        if not altered(mutate, expected.get(name, "")):
            raise Bad("self-test: altered %s was not detected" % name)
    return len(cases)


def blob_references(value, found):
    """Every object with a 64-hex `sha256` and a non-negative integer `size` is a reference."""
    if isinstance(value, dict):
        h, size = value.get("sha256"), value.get("size")
        if (isinstance(h, str) and len(h) == 64 and all(c in "0123456789abcdef" for c in h.lower())
                and isinstance(size, int) and not isinstance(size, bool) and size >= 0):
            found.append((h.lower(), size))
        for key in sorted(value):
            blob_references(value[key], found)
    elif isinstance(value, list):
        for element in value:
            blob_references(element, found)


def check_blobs(events, directory):
    """Each referenced blob is present with its size and SHA-256, or erased by a blob.erased event."""
    first, erased = {}, set()
    for e in events:
        if e["type"] == "blob.erased":
            erased.add(e["payload"]["blob"].lower())
            continue
        refs = []
        blob_references(e["payload"], refs)
        for h, size in refs:
            first.setdefault(h, (e["seq"], size))
    present = gone = 0
    for h, (seq, size) in sorted(first.items(), key=lambda item: item[1][0]):
        path = os.path.join(directory, h[0:2], h[2:4], h)
        if os.path.exists(path):
            digest, length = hashlib.sha256(), 0
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
                    length += len(chunk)
            if length != size or digest.hexdigest() != h:
                raise Bad("seq %d: blob %s does not match the reference (%d bytes, sha256 %s)" % (seq, h, length, digest.hexdigest()))
            present += 1
        elif h in erased:
            gone += 1
        else:
            raise Bad("seq %d: blob %s is missing and no blob.erased event records its removal" % (seq, h))
    return present, gone


def main(argv):
    try:
        if len(argv) in (3, 5) and argv[1] == "--events":
            with open(argv[2], encoding="utf-8") as f:
                events = [json.loads(line) for line in f if line.strip()]
            check_events(events)
            print("ledger export OK: %d events (hashes, chain, signatures, key rotations, checkpoints)" % len(events))
            if len(argv) == 5:
                if argv[3] != "--blobs":
                    raise IndexError("expected --blobs DIR")
                present, gone = check_blobs(events, argv[4])
                print("blobs OK: %d referenced blobs re-hashed, %d erased by blob.erased events" % (present, gone))
            return 0
        self_testing = len(argv) == 3 and argv[1] == "--self-test"
        path = argv[2] if self_testing else argv[1]
        with open(path, encoding="utf-8") as f:
            v = json.load(f)
        n, inc, cons = check_vectors(v)
        print("vectors OK: %d events, %d inclusion proofs, %d consistency proofs" % (n, inc, cons))
        if self_testing:
            print("self-test OK: %d alterations detected" % self_test(v))
        return 0
    except Bad as e:
        print("FAILED: %s" % e)
        return 1
    except (IndexError, OSError) as e:
        print(__doc__)
        print("error: %s" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
