#!/usr/bin/env python3
"""Independent verifier of Kvitto evidence bundles, format `kvitto-evidence/1`.

Written from Schemas/evidence-bundle.md (§10, "Verification") and the documents it links
(ledger-events.md, node-events.md, access.md), without Kvitto's code. It needs Python 3 with the
standard library, `cryptography` (Ed25519 only), and `xmlsec1` on PATH for the XML signatures of
§10.9 (without it those checks are reported as "not checked").

What it checks, in the order of §10, reporting the first failure:
  10.1  form: the file is the RFC 8785 canonical JSON of the bundle plus one LF, member sets are
        closed, hex is lowercase, base64 is canonical, numbers are integers;
  10.2  the signed checkpoint (N = position, R = root);
  10.3  the key chain from the genesis key (pinned with --trust-key), the key events' inclusion
        proofs, the checkpoint's signature;
  10.4  each full event: canonical bytes, hash, signature by the key then active, inclusion proof
        to R, membership of the message; the prev chain, time order and the start of the trace;
  10.5  the blob list against the references the events make, and every included blob's bytes;
  10.6  included content was recorded as read by the requester (`message.accessed`);
  10.7  AS4 receipts and envelopes against the dispatches the events recorded;
  10.8  XHE and Meddelandekvittens identifiers; the gzip payload digest when it reproduces;
  10.9  XML signatures (xmlsec1) and the `#id` digests of AS4 envelopes (exclusive c14n here);
  10.10 witness entries, and each --witness checkpoint against them.

What it does not prove (§11): that the bundle is complete (events left out, events after the
checkpoint), that a key holder did not rewrite the ledger after the newest witness given, the
stated members (generated_at, node, requester, redacted entries), that actors are persons, the
node's clock, what the node says it decrypted; certificate revocation is not checked.

Usage:  verify_bundle.py FILE [--trust-key BASE64] [--witness FILE]... [--ca PEM]... [--json]
Exit:   0 nothing failed, 1 a check failed (malformed_bundle included), 2 an input cannot be read.
Library: verify(data, trust_key=None, witnesses=(), cas=(), xmlsec=True) -> report dict.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib
from xml.parsers import expat

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "kvitto-evidence/1"
LEDGER_FORMAT = "kvitto-ledger/1"
REGIONS = ("bundle", "checkpoint", "keys", "events", "proofs", "blobs", "content", "transport",
           "documents", "signatures", "witness")
RANK = {"proven": 0, "stated": 1, "not checked": 2, "failed": 3}
MAX_INT = 2 ** 53 - 1
ZERO_HASH = "0" * 64
ENVELOPE = {"actor", "key", "payload", "prev", "seq", "subject", "time", "type", "type_version"}

HEX64 = re.compile(r"[0-9a-f]{64}")
HEX64_ANY_CASE = re.compile(r"[0-9a-fA-F]{64}")
TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z")

KINDS = ("sdk_message", "attachment", "xhe", "as4_message", "as4_certificate", "o2o_certificate", "as4_payload",
         "meddelandekvittens", "as4_receipt", "as4_error", "content_key", "other")
ROLES = ("evidence", "content", "ciphertext")
STATES = ("included", "erased", "withheld", "omitted", "missing")
REASONS = ("not_requested", "no_read_grant", "weak_authentication")
ROLE_RESTRICTION = {"content": 0, "ciphertext": 1, "evidence": 2}  # lower = more restricted

NS = {
    "S12": "http://www.w3.org/2003/05/soap-envelope",
    "eb": "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/",
    "ebbp": "http://docs.oasis-open.org/ebxml-bp/ebbp-signals-2.0",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "ec": "http://www.w3.org/2001/10/xml-exc-c14n#",
    "xhe": "http://docs.oasis-open.org/bdxr/ns/XHE/1/ExchangeHeaderEnvelope",
    "xha": "http://docs.oasis-open.org/bdxr/ns/XHE/1/AggregateComponents",
    "xhb": "http://docs.oasis-open.org/bdxr/ns/XHE/1/BasicComponents",
    "ar": "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
DIGESTS = {"http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
           "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
           "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
           "http://www.w3.org/2001/04/xmlenc#sha512": "sha512"}


# ----------------------------------------------------------------------------------------------
# Failures and the report
# ----------------------------------------------------------------------------------------------

class Failure(Exception):
    """The first failed check: a code and a region of §10.0, where it happened, and why."""

    def __init__(self, code, region, detail, seq=None, sha256=None, index=None, pointer=None):
        super().__init__(detail)
        self.code, self.region, self.detail = code, region, detail
        self.seq, self.sha256, self.index, self.pointer = seq, sha256, index, pointer

    def as_dict(self):
        d = {"code": self.code, "region": self.region}
        for name in ("seq", "sha256", "index", "pointer"):
            if getattr(self, name) is not None:
                d[name] = getattr(self, name)
        d["detail"] = self.detail
        return d


class Unreadable(Exception):
    """An input file cannot be read (exit status 2)."""


class Results:
    """Per-region results (§10.0), the stated members and the checks not checked."""

    def __init__(self):
        self.worst = {r: "proven" for r in REGIONS}
        self.completed = set()
        self.stated, self.not_checked = [], []

    def mark(self, region, result):
        if RANK[result] > RANK[self.worst[region]]:
            self.worst[region] = result

    def state(self, region, text):
        if region:
            self.mark(region, "stated")
        if text not in self.stated:
            self.stated.append(text)

    def skip(self, region, text):
        self.mark(region, "not checked")
        if text not in self.not_checked:
            self.not_checked.append(text)

    def done(self, *regions):
        self.completed.update(regions)

    def checks(self, failure):
        out = {}
        for r in REGIONS:
            if failure is not None and failure.region == r:
                out[r] = "failed"
            elif r in self.completed:
                out[r] = self.worst[r]
            else:
                out[r] = "not checked"  # not reached: an earlier check failed
        return out


# ----------------------------------------------------------------------------------------------
# JSON: strict parsing and RFC 8785 canonical form
# ----------------------------------------------------------------------------------------------

class JsonError(Exception):
    def __init__(self, path, detail):
        super().__init__(detail)
        self.path, self.detail = path, detail


class _Pairs(list):
    """An object as parsed, with its members in order and duplicates kept."""


class _NotInteger:
    def __init__(self, text):
        self.text = text


def pointer(path):
    """RFC 6901 JSON Pointer of a path of member names and array indices."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def parse_json(text):
    """Parses JSON text, refusing duplicate member names, non-integer numbers, integers beyond
    ±(2^53 − 1) and lone surrogates. Raises JsonError with the path of the offending value."""
    try:
        raw = json.loads(text, object_pairs_hook=_Pairs, parse_float=_NotInteger,
                         parse_constant=_NotInteger)
    except (ValueError, RecursionError) as e:
        raise JsonError([], f"not JSON: {e}")
    return _clean(raw, [])


def _check_text(s, path):
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonError(path, "string holds a lone surrogate")


def _clean(v, path):
    if isinstance(v, _Pairs):
        out = {}
        for k, x in v:
            _check_text(k, path + [k])
            if k in out:
                raise JsonError(path + [k], f"duplicate member name {k!r}")
            out[k] = _clean(x, path + [k])
        return out
    if isinstance(v, list):
        return [_clean(x, path + [i]) for i, x in enumerate(v)]
    if isinstance(v, _NotInteger):
        raise JsonError(path, f"non-integer number {v.text}")
    if isinstance(v, str):
        _check_text(v, path)
    elif isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT:
        raise JsonError(path, f"integer {v} beyond ±(2^53 − 1)")
    return v


_JCS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_JCS_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
              "\t": "\\t"}


def _jcs_string(s):
    return '"' + _JCS_ESCAPE.sub(
        lambda m: _JCS_SHORT.get(m.group(), "\\u%04x" % ord(m.group())), s) + '"'


def utf16_key(name):
    """Sort key of RFC 8785: the UTF-16 code units of a member name."""
    return name.encode("utf-16-be")


def jcs(v):
    """RFC 8785 canonical JSON (as text) of a value made of the types Kvitto allows."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _jcs_string(v)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(_jcs_string(k) + ":" + jcs(v[k])
                              for k in sorted(v, key=utf16_key)) + "}"
    raise TypeError(f"no JSON value: {type(v).__name__}")


def jcs_bytes(v):
    return jcs(v).encode("utf-8")


def canonical_path(v, offset):
    """Path of the innermost member or element whose canonical bytes cover byte `offset`."""
    pos, best = 0, []

    def walk(x, path):
        nonlocal pos, best
        start = pos
        if isinstance(x, (dict, list)):
            pos += 1
            items = [(k, x[k]) for k in sorted(x, key=utf16_key)] if isinstance(x, dict) else list(enumerate(x))
            for n, (k, y) in enumerate(items):
                pos += 1 if n else 0
                if isinstance(x, dict):
                    pos += len(_jcs_string(k).encode("utf-8")) + 1
                walk(y, path + [k])
            pos += 1
        else:
            pos += len(jcs(x).encode("utf-8"))
        if start <= offset < pos and len(path) >= len(best):
            best = path
    walk(v, [])
    return best


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------

# SHA-256, the RFC 9162 leaf hash and proof verification (§2.1.3.2, §2.1.4.2; equal sizes need an
# empty proof and equal roots) come from the project's independent Merkle vectors checker.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors"))
from rfc6962 import leaf_hash as leaf, sha256 as H, verify_consistency, verify_inclusion  # noqa: E402


def key_id(raw):
    return H(raw)[:8].hex()


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def strict_b64(s):
    """Decodes RFC 4648 base64 only when b64encode(b64decode(s)) == s; None otherwise."""
    if not isinstance(s, str):
        return None
    try:
        b = base64.b64decode(s, validate=True)
    except (ValueError, TypeError):
        return None
    return b if base64.b64encode(b).decode("ascii") == s else None


def norm_space(s):
    """XPath normalize-space; None for a value that is not a string."""
    return re.sub(r"[ \t\r\n]+", " ", s).strip(" ") if isinstance(s, str) else None


def same_id(found, expected):
    """An identifier found in XML (normalized) equals a recorded one, both present."""
    return found is not None and isinstance(expected, str) and found == norm_space(expected)


class Key:
    def __init__(self, kid, raw, active_from):
        self.key, self.raw, self.active_from = kid, raw, active_from


class DecodeError(Exception):
    def __init__(self, code, detail):
        super().__init__(detail)
        self.code, self.detail = code, detail


def check_envelope_types(obj):
    """The member types of an event envelope (ledger-events.md); a reason, or None."""
    if not is_int(obj["seq"]) or obj["seq"] < 1:
        return "seq is not a positive integer"
    if not is_int(obj["type_version"]):
        return "type_version is not an integer"
    for m in ("actor", "key", "prev", "subject", "type", "time"):
        if not isinstance(obj[m], str):
            return f"{m} is not a string"
    if not TIME.fullmatch(obj["time"]):
        return f"time {obj['time']!r} is not YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ"
    if not isinstance(obj["payload"], dict):
        return "payload is not an object"
    return None


def decode(entry):
    """§10.0 decode(entry): the event of a full entry, or DecodeError(code, detail)."""
    b = base64.b64decode(entry["canonical"])
    try:
        obj = parse_json(b.decode("utf-8"))
    except UnicodeDecodeError:
        raise DecodeError("malformed_event", "canonical bytes are not UTF-8")
    except JsonError as e:
        raise DecodeError("malformed_event", f"canonical bytes at {pointer(e.path) or '/'}: {e.detail}")
    if not isinstance(obj, dict) or set(obj) != ENVELOPE:
        have = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise DecodeError("malformed_event", f"event members are {have}, not {sorted(ENVELOPE)}")
    why = check_envelope_types(obj)
    if why:
        raise DecodeError("malformed_event", why)
    if jcs_bytes(obj) != b:
        raise DecodeError("malformed_event", "canonical bytes are not RFC 8785 canonical JSON")
    if H(b).hex() != entry["hash"]:
        raise DecodeError("hash_mismatch", f"SHA-256 of canonical is {H(b).hex()}, entry says {entry['hash']}")
    for m in ("seq", "prev", "key"):
        if obj[m] != entry[m]:
            raise DecodeError("malformed_event", f"entry {m} {entry[m]!r} differs from the event's {obj[m]!r}")
    return obj


def signed(entry, k):
    """§10.0 signed(entry, k): None, or (code, detail)."""
    if entry["key"] != k.key:
        return "wrong_key", f"signed by key {entry['key']}, the key active at seq {entry['seq']} is {k.key}"
    try:
        Ed25519PublicKey.from_public_bytes(k.raw).verify(
            base64.b64decode(entry["sig"]), bytes.fromhex(entry["hash"]))
    except Exception:
        return "bad_signature", f"the Ed25519 signature does not verify with key {k.key}"
    return None


# ----------------------------------------------------------------------------------------------
# The verification context
# ----------------------------------------------------------------------------------------------

class Entry:
    """One entry of `events`, full (decoded) or redacted (shown)."""

    def __init__(self, index, raw, event):
        self.index, self.raw = index, raw
        self.ptr = f"/events/{index}"
        self.seq = raw["seq"]
        self.full = raw["form"] == "full"
        src = event if self.full else raw["shown"]
        self.type, self.subject, self.actor = src["type"], src["subject"], src["actor"]
        self.time, self.payload = src["time"], src["payload"]
        self.refs = []  # (pointer, sha256 lowercase, size)


class Ctx:
    def __init__(self, bundle, trust_key, witnesses, cas, xmlsec):
        self.b = bundle
        self.trust_key, self.witnesses, self.cas, self.xmlsec = trust_key, witnesses, cas, xmlsec
        self.res = Results()
        self.N = self.R = None
        self.cp_event = None
        self.keys = []
        self.key_events = []  # decoded key events
        self.entries = []
        self.by_seq = {}
        self.blobs = {}  # sha256 -> (index, blob entry)
        self.erasures = {}  # sha256 -> seq of the first blob.erased entry naming it
        self.requester_proven = False

    def active(self, seq):
        k = None
        for key in self.keys:
            if key.active_from <= seq:
                k = key
        return k

    def blob(self, ref):
        """The blob entry (index, entry) a {sha256, size} reference names, or (None, None)."""
        if isinstance(ref, dict) and isinstance(ref.get("sha256"), str):
            return self.blobs.get(ref["sha256"].lower(), (None, None))
        return None, None

    def blob_bytes(self, ref):
        i, e = self.blob(ref)
        if e is not None and e["state"] == "included":
            return base64.b64decode(e["data"])
        return None


# ----------------------------------------------------------------------------------------------
# 10.1 Form
# ----------------------------------------------------------------------------------------------

def malformed(path, detail):
    return Failure("malformed_bundle", "bundle", detail, pointer=pointer(path))


class Form:
    """Member sets, types and encodings of §1–§8."""

    @staticmethod
    def obj(v, path, required, optional=()):
        if not isinstance(v, dict):
            raise malformed(path, "must be an object")
        for k in v:
            if k not in required and k not in optional:
                raise malformed(path + [k], f"unknown member {k!r}")
        for k in required:
            if k not in v:
                raise malformed(path, f"member {k!r} is missing")

    @staticmethod
    def string(v, path):
        if not isinstance(v, str):
            raise malformed(path, "must be a string")

    @staticmethod
    def integer(v, path, minimum=None):
        if not is_int(v):
            raise malformed(path, "must be an integer")
        if minimum is not None and v < minimum:
            raise malformed(path, f"must be at least {minimum}")

    @staticmethod
    def hex64(v, path):
        if not isinstance(v, str) or not HEX64.fullmatch(v):
            raise malformed(path, "must be 64 lowercase hex digits")

    @staticmethod
    def b64(v, path):
        if strict_b64(v) is None:
            raise malformed(path, "must be canonical base64 (RFC 4648 §4, padded, b64encode(b64decode(s)) == s)")

    @staticmethod
    def time(v, path):
        if not isinstance(v, str) or not TIME.fullmatch(v):
            raise malformed(path, "must be a time YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ")

    @staticmethod
    def enum(v, path, values):
        if not isinstance(v, str) or v not in values:
            raise malformed(path, f"must be one of {', '.join(values)}")

    @staticmethod
    def array(v, path, item):
        if not isinstance(v, list):
            raise malformed(path, "must be an array")
        for i, x in enumerate(v):
            item(x, path + [i])

    @classmethod
    def proof(cls, v, path):
        cls.obj(v, path, ("leaf_index", "path"))
        cls.integer(v["leaf_index"], path + ["leaf_index"], 0)
        cls.array(v["path"], path + ["path"], cls.hex64)

    @classmethod
    def full_entry(cls, v, path, with_proof):
        required = ("seq", "form", "canonical", "hash", "prev", "key", "sig") + (("proof",) if with_proof else ())
        cls.obj(v, path, required)
        cls.integer(v["seq"], path + ["seq"], 1)
        cls.enum(v["form"], path + ["form"], ("full",))
        cls.b64(v["canonical"], path + ["canonical"])
        cls.hex64(v["hash"], path + ["hash"])
        cls.hex64(v["prev"], path + ["prev"])
        cls.string(v["key"], path + ["key"])
        cls.b64(v["sig"], path + ["sig"])
        if with_proof:
            cls.proof(v["proof"], path + ["proof"])

    @classmethod
    def redacted_entry(cls, v, path):
        cls.obj(v, path, ("seq", "form", "shown", "redacted"))
        cls.integer(v["seq"], path + ["seq"], 1)
        shown, sp = v["shown"], path + ["shown"]
        cls.obj(shown, sp, ("time", "type", "subject", "actor", "payload"))
        cls.time(shown["time"], sp + ["time"])
        for m in ("type", "subject", "actor"):
            cls.string(shown[m], sp + [m])
        if not isinstance(shown["payload"], dict):
            raise malformed(sp + ["payload"], "must be an object")
        cls.array(v["redacted"], path + ["redacted"], cls.string)
        names = v["redacted"]
        for i in range(1, len(names)):
            if utf16_key(names[i - 1]) >= utf16_key(names[i]):
                raise malformed(path + ["redacted", i], "redacted names must be sorted and distinct")

    @classmethod
    def event_entry(cls, v, path):
        if not isinstance(v, dict):
            raise malformed(path, "must be an object")
        if v.get("form") == "full":
            cls.full_entry(v, path, True)
        elif v.get("form") == "redacted":
            cls.redacted_entry(v, path)
        else:
            raise malformed(path + ["form"] if "form" in v else path, "form must be \"full\" or \"redacted\"")

    @classmethod
    def key_entry(cls, v, path):
        cls.obj(v, path, ("key", "public_key", "active_from", "event"))
        cls.string(v["key"], path + ["key"])
        cls.b64(v["public_key"], path + ["public_key"])
        cls.integer(v["active_from"], path + ["active_from"], 1)
        cls.full_entry(v["event"], path + ["event"], True)

    @classmethod
    def blob_entry(cls, v, path):
        if not isinstance(v, dict):
            raise malformed(path, "must be an object")
        cls.enum(v.get("state"), path + ["state"] if "state" in v else path, STATES)
        extra = {"included": ("data",), "erased": ("erased_by",), "withheld": ("reason",)}.get(v["state"], ())
        cls.obj(v, path, ("sha256", "size", "kind", "role", "references", "state") + extra)
        cls.hex64(v["sha256"], path + ["sha256"])
        cls.integer(v["size"], path + ["size"], 0)
        cls.enum(v["kind"], path + ["kind"], KINDS)
        cls.enum(v["role"], path + ["role"], ROLES)

        def reference(r, p):
            cls.obj(r, p, ("seq", "pointer"))
            cls.integer(r["seq"], p + ["seq"], 1)
            cls.string(r["pointer"], p + ["pointer"])
        cls.array(v["references"], path + ["references"], reference)
        if "data" in v:
            cls.b64(v["data"], path + ["data"])
        if "erased_by" in v:
            cls.integer(v["erased_by"], path + ["erased_by"], 1)
        if "reason" in v:
            cls.enum(v["reason"], path + ["reason"], REASONS)

    @classmethod
    def witness_entry(cls, v, path):
        cls.obj(v, path, ("seq", "hash", "old_size", "old_root", "consistency"), ("proof",))
        cls.integer(v["seq"], path + ["seq"], 1)
        cls.hex64(v["hash"], path + ["hash"])
        if "proof" in v:
            cls.proof(v["proof"], path + ["proof"])
        cls.integer(v["old_size"], path + ["old_size"], 0)
        cls.hex64(v["old_root"], path + ["old_root"])
        cls.array(v["consistency"], path + ["consistency"], cls.hex64)

    @classmethod
    def content(cls, v, path):
        cls.obj(v, path, ("access_events", "parts"), ("data_key",))
        cls.array(v["access_events"], path + ["access_events"], lambda x, p: cls.integer(x, p, 1))
        if "data_key" in v:
            cls.b64(v["data_key"], path + ["data_key"])
            if len(base64.b64decode(v["data_key"])) != 32:
                raise malformed(path + ["data_key"], "a data key is 32 bytes")

        def part(x, p):
            cls.obj(x, p, ("part", "content_type", "sha256"), ("attachment", "file_name"))
            cls.enum(x["part"], p + ["part"], ("message", "attachment"))
            if "attachment" in x:
                cls.integer(x["attachment"], p + ["attachment"], 0)
            if "file_name" in x:
                cls.string(x["file_name"], p + ["file_name"])
            cls.string(x["content_type"], p + ["content_type"])
            cls.hex64(x["sha256"], p + ["sha256"])
        cls.array(v["parts"], path + ["parts"], part)

    @classmethod
    def bundle(cls, b):
        cls.obj(b, [], ("format", "generated_at", "node", "ledger", "message", "requester", "position",
                        "checkpoint", "keys", "events", "blobs", "witnesses"), ("content",))
        cls.time(b["generated_at"], ["generated_at"])
        cls.string(b["node"], ["node"])
        cls.obj(b["ledger"], ["ledger"], ("format", "ledger_id"))
        cls.string(b["ledger"]["format"], ["ledger", "format"])
        cls.string(b["ledger"]["ledger_id"], ["ledger", "ledger_id"])
        m = b["message"]
        cls.obj(m, ["message"], ("id", "participant", "direction"))
        cls.string(m["id"], ["message", "id"])
        cls.string(m["participant"], ["message", "participant"])
        cls.enum(m["direction"], ["message", "direction"], ("outbound", "inbound"))
        r = b["requester"]
        cls.obj(r, ["requester"], ("actor", "visibility", "interface"), ("purpose",))
        cls.string(r["actor"], ["requester", "actor"])
        cls.enum(r["visibility"], ["requester", "visibility"], ("full", "audit", "transport"))
        cls.enum(r["interface"], ["requester", "interface"], ("cli", "api", "console"))
        if "purpose" in r:
            cls.string(r["purpose"], ["requester", "purpose"])
        cls.integer(b["position"], ["position"], 0)
        cls.full_entry(b["checkpoint"], ["checkpoint"], False)
        cls.array(b["keys"], ["keys"], cls.key_entry)
        cls.array(b["events"], ["events"], cls.event_entry)
        cls.array(b["blobs"], ["blobs"], cls.blob_entry)
        if "content" in b:
            cls.content(b["content"], ["content"])
        cls.array(b["witnesses"], ["witnesses"], cls.witness_entry)


def check_form(data):
    """§10.1: the bundle object of a canonical file, or Failure."""
    if not data.endswith(b"\n"):
        raise Failure("malformed_bundle", "bundle", "the file does not end with one LF")
    body = data[:-1]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Failure("malformed_bundle", "bundle", f"not UTF-8 at byte {e.start}")
    try:
        b = parse_json(text)
    except JsonError as e:
        raise malformed(e.path, e.detail)
    canonical = jcs_bytes(b)
    if canonical != body:
        at = next((i for i, (x, y) in enumerate(zip(canonical, body)) if x != y), min(len(canonical), len(body)))
        raise Failure("malformed_bundle", "bundle",
                      f"the file is not the RFC 8785 canonical JSON of its value plus one LF (first difference at "
                      f"byte {at})", pointer=pointer(canonical_path(b, at)))
    if isinstance(b, dict) and isinstance(b.get("format"), str) and b["format"] != FORMAT:
        raise Failure("unsupported_format", "bundle", f"format {b['format']!r} is not {FORMAT!r}",
                      pointer="/format")
    Form.bundle(b)
    if b["format"] != FORMAT:
        raise Failure("unsupported_format", "bundle", f"format {b['format']!r} is not {FORMAT!r}",
                      pointer="/format")
    return b


def check_form_rules(ctx):
    """§10.1: the rules across members."""
    b = ctx.b
    if not b["keys"]:
        raise malformed(["keys"], "keys must hold at least the genesis key")
    if not b["events"]:
        raise malformed(["events"], "events must not be empty")
    other = {k["event"]["seq"] for k in b["keys"]} | {b["checkpoint"]["seq"]}
    last = 0
    for i, e in enumerate(b["events"]):
        if e["seq"] <= last:
            raise malformed(["events", i, "seq"],
                            f"seq {e['seq']} does not follow {last}: events must be in increasing seq order")
        if e["seq"] in other:
            raise malformed(["events", i, "seq"], f"seq {e['seq']} is also a key event's or the checkpoint's")
        last = e["seq"]
        if e["form"] == "redacted" and b["requester"]["visibility"] == "full":
            raise malformed(["events", i], "a redacted entry with requester visibility full")
    if "content" in b and b["requester"]["visibility"] != "full":
        raise malformed(["content"], "content with requester visibility other than full")
    for name, seqs in (("witnesses", [w["seq"] for w in b["witnesses"]]),
                       ("content/access_events", b.get("content", {}).get("access_events", []))):
        for i in range(1, len(seqs)):
            if seqs[i] <= seqs[i - 1]:
                raise malformed(name.split("/") + [i], f"{name} must be in increasing seq order")


# ----------------------------------------------------------------------------------------------
# 10.2 Checkpoint
# ----------------------------------------------------------------------------------------------

def check_checkpoint(ctx):
    cp = ctx.b["checkpoint"]

    def fail(detail):
        return Failure("checkpoint_mismatch", "checkpoint", detail, seq=cp["seq"], pointer="/checkpoint")
    try:
        ev = decode(cp)
    except DecodeError as e:
        raise fail(f"decode failed ({e.code}): {e.detail}")
    if (ev["type"], ev["subject"], ev["actor"]) != ("ledger.checkpoint", "ledger", "node"):
        raise fail(f"event is {ev['type']} / subject {ev['subject']} / actor {ev['actor']}, "
                   "not ledger.checkpoint / ledger / node")
    p = ev["payload"]
    if set(p) != {"root", "tree_size"} or not is_int(p["tree_size"]) or \
            not isinstance(p["root"], str) or not HEX64.fullmatch(p["root"]):
        raise fail("payload is not exactly {root (64 lowercase hex), tree_size (integer)}")
    if not p["tree_size"] == ev["seq"] - 1 == ctx.b["position"]:
        raise fail(f"tree_size {p['tree_size']}, seq − 1 {ev['seq'] - 1} and position {ctx.b['position']} differ")
    ctx.cp_event, ctx.N, ctx.R = ev, p["tree_size"], bytes.fromhex(p["root"])
    ctx.res.done("checkpoint")  # its signature is checked at the end of 10.3


# ----------------------------------------------------------------------------------------------
# 10.3 Keys
# ----------------------------------------------------------------------------------------------

def check_inclusion(ctx, entry, ptr, region="proofs"):
    seq, proof = entry["seq"], entry["proof"]
    if proof["leaf_index"] != seq - 1:
        raise Failure("inclusion_failed", region, f"leaf_index {proof['leaf_index']} is not seq − 1 = {seq - 1}",
                      seq=seq, pointer=ptr + "/proof/leaf_index")
    path = [bytes.fromhex(h) for h in proof["path"]]
    if not verify_inclusion(seq - 1, ctx.N, leaf(bytes.fromhex(entry["hash"])), path, ctx.R):
        raise Failure("inclusion_failed", region,
                      f"the inclusion proof of seq {seq} does not lead to the checkpoint's root over {ctx.N} events",
                      seq=seq, pointer=ptr + "/proof")


def check_genesis(ctx):
    g = ctx.b["keys"][0]
    entry = g["event"]

    def fail(detail, where=""):
        return Failure("bad_genesis", "keys", detail, seq=entry["seq"], pointer="/keys/0" + where)
    try:
        ev = decode(entry)
    except DecodeError as e:
        raise fail(f"decode failed ({e.code}): {e.detail}", "/event")
    if ev["seq"] != 1 or ev["type"] != "ledger.created" or ev["subject"] != "ledger" or ev["prev"] != ZERO_HASH:
        raise fail("the genesis event must be seq 1, ledger.created, subject ledger, prev of 64 zeros", "/event")
    p = ev["payload"]
    if p.get("format") != LEDGER_FORMAT:
        raise fail(f"payload format is {p.get('format')!r}, not {LEDGER_FORMAT!r}", "/event")
    if p.get("ledger_id") != ctx.b["ledger"]["ledger_id"] or p.get("format") != ctx.b["ledger"]["format"]:
        raise Failure("bad_genesis", "keys", "the bundle's ledger member differs from the genesis payload",
                      seq=1, pointer="/ledger")
    raw = strict_b64(p.get("public_key"))
    if raw is None or len(raw) != 32:
        raise fail("payload public_key is not the base64 of 32 bytes", "/event")
    kid = key_id(raw)
    if not kid == p.get("key") == ev["key"] == g["key"]:
        raise fail(f"key ids differ: key_id(public_key) {kid}, payload {p.get('key')!r}, "
                   f"event {ev['key']!r}, entry {g['key']!r}", "/key")
    if g["public_key"] != p["public_key"]:
        raise fail("public_key differs from the genesis payload's", "/public_key")
    if g["active_from"] != 1:
        raise fail("the genesis key's active_from must be 1", "/active_from")
    k = Key(kid, raw, 1)
    bad = signed(entry, k)
    if bad:
        raise fail(f"not signed by its own key ({bad[0]}): {bad[1]}", "/event/sig")
    if ctx.trust_key is not None and raw != ctx.trust_key:
        raise Failure("untrusted_key", "keys",
                      f"the genesis key {kid} is not the trusted key {key_id(ctx.trust_key)}",
                      seq=1, pointer="/keys/0/public_key")
    ctx.keys.append(k)
    ctx.key_events.append(ev)


def check_rotation(ctx, i):
    g = ctx.b["keys"][i]
    entry, prev_key = g["event"], ctx.keys[i - 1]
    cp_seq = ctx.b["checkpoint"]["seq"]

    def fail(detail, where=""):
        return Failure("bad_key_rotation", "keys", detail, seq=entry["seq"], pointer=f"/keys/{i}" + where)
    try:
        ev = decode(entry)
    except DecodeError as e:
        raise fail(f"decode failed ({e.code}): {e.detail}", "/event")
    if ev["type"] != "node.key.rotated" or ev["subject"] != "node":
        raise fail(f"event is {ev['type']} with subject {ev['subject']}, not node.key.rotated / node", "/event")
    if not ctx.key_events[-1]["seq"] < ev["seq"] < cp_seq:
        raise fail(f"seq {ev['seq']} is not above the previous key event's and below the checkpoint's", "/event")
    if g["active_from"] != ev["seq"] + 1:
        raise fail(f"active_from {g['active_from']} is not seq + 1 = {ev['seq'] + 1}", "/active_from")
    p = ev["payload"]
    if p.get("previous_key") != prev_key.key:
        raise fail(f"previous_key {p.get('previous_key')!r} is not the previous key {prev_key.key}", "/event")
    raw = strict_b64(p.get("public_key"))
    if raw is None or len(raw) != 32:
        raise fail("payload public_key is not the base64 of 32 bytes", "/event")
    kid = key_id(raw)
    if not kid == p.get("key") == g["key"]:
        raise fail(f"key ids differ: key_id(public_key) {kid}, payload {p.get('key')!r}, entry {g['key']!r}", "/key")
    if g["public_key"] != p["public_key"]:
        raise fail("public_key differs from the rotation payload's", "/public_key")
    bad = signed(entry, prev_key)
    if bad:
        raise fail(f"not signed by the previous key ({bad[0]}): {bad[1]}", "/event/sig")
    ctx.keys.append(Key(kid, raw, g["active_from"]))
    ctx.key_events.append(ev)


def check_keys(ctx):
    check_genesis(ctx)
    for i in range(1, len(ctx.b["keys"])):
        check_rotation(ctx, i)
    ctx.res.done("keys")
    for i, g in enumerate(ctx.b["keys"]):
        check_inclusion(ctx, g["event"], f"/keys/{i}/event")
    cp = ctx.b["checkpoint"]
    bad = signed(cp, ctx.active(cp["seq"]))
    if bad:
        ctx.res.completed.discard("checkpoint")
        raise Failure(bad[0], "checkpoint", bad[1], seq=cp["seq"], pointer="/checkpoint/sig")


# ----------------------------------------------------------------------------------------------
# 10.4 Events
# ----------------------------------------------------------------------------------------------

def find_references(payload):
    """§6: every object with a 64-hex `sha256` and a non-negative integer `size`, depth first
    (an object before its members, members in sorted order): [(pointer, sha256, size)]."""
    out = []

    def walk(v, ptr):
        if isinstance(v, dict):
            s, z = v.get("sha256"), v.get("size")
            if isinstance(s, str) and HEX64_ANY_CASE.fullmatch(s) and is_int(z) and z >= 0:
                out.append((ptr, s.lower(), z))
            for k in sorted(v, key=utf16_key):
                walk(v[k], ptr + pointer([k]))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{ptr}/{i}")
    walk(payload, "/payload")
    return out


def check_erasure(ctx, e):
    """A blob.erased entry: its blob is referenced by an earlier entry, with the same size."""
    p = e.payload
    sha = p.get("blob").lower() if isinstance(p.get("blob"), str) else None
    earlier = [r for x in ctx.entries if x.seq < e.seq for r in x.refs if r[1] == sha]
    hidden = [x for x in ctx.entries if x.seq < e.seq and not x.full and x.raw["redacted"]]
    if not earlier and hidden:
        # The reference may sit in a member a redacted entry removed: the check rests on stated data.
        ctx.res.state("events", f"{e.ptr} (blob.erased seq {e.seq}: its reference may be in a redacted member "
                                f"of seq {', '.join(str(x.seq) for x in hidden)})")
        return
    if not earlier:
        raise Failure("erasure_mismatch", "events",
                      f"blob.erased names {p.get('blob')!r}, which no earlier entry references",
                      seq=e.seq, pointer=e.ptr)
    if not is_int(p.get("size")) or p["size"] != earlier[0][2]:
        raise Failure("erasure_mismatch", "events",
                      f"blob.erased size {p.get('size')!r} differs from the reference's size {earlier[0][2]}",
                      seq=e.seq, pointer=e.ptr)


def check_full_event(ctx, i, raw):
    seq, ptr = raw["seq"], f"/events/{i}"
    try:
        ev = decode(raw)
    except DecodeError as e:
        raise Failure(e.code, "events", e.detail, seq=seq, pointer=ptr)
    bad = signed(raw, ctx.active(seq))
    if bad:
        raise Failure(bad[0], "events", bad[1], seq=seq, pointer=ptr + "/sig")
    if not 2 <= seq <= ctx.N:
        raise Failure("malformed_event", "events", f"seq {seq} is outside 2…{ctx.N} (the checkpoint's tree)",
                      seq=seq, pointer=ptr + "/seq")
    check_inclusion(ctx, raw, ptr)
    e = Entry(i, raw, ev)
    msg_id = ctx.b["message"]["id"]
    if e.type == "blob.erased":
        if not isinstance(e.payload.get("blob"), str) or e.subject != "blob:" + e.payload["blob"]:
            raise Failure("not_in_message", "events", f"blob.erased subject {e.subject!r} is not blob:<payload.blob>",
                          seq=seq, pointer=ptr)
        check_erasure(ctx, e)
    elif e.subject != "message:" + msg_id:
        raise Failure("not_in_message", "events", f"subject {e.subject!r} is not message:{msg_id}",
                      seq=seq, pointer=ptr)
    return e


def check_chain(ctx):
    """prev links and time order across every full event of the bundle (keys, events, checkpoint)."""
    full = [(ev["seq"], ev["prev"], k["event"]["hash"], ev["time"], f"/keys/{i}/event")
            for i, (k, ev) in enumerate(zip(ctx.b["keys"], ctx.key_events))]
    full += [(e.seq, e.raw["prev"], e.raw["hash"], e.time, e.ptr) for e in ctx.entries if e.full]
    cp = ctx.cp_event
    full.append((cp["seq"], cp["prev"], ctx.b["checkpoint"]["hash"], cp["time"], "/checkpoint"))
    full.sort()
    hashes = {seq: h for seq, _, h, _, _ in full}
    for seq, prev, _, _, ptr in full:
        if seq - 1 in hashes and prev != hashes[seq - 1]:
            raise Failure("chain_broken", "events", f"prev of seq {seq} is not the hash of seq {seq - 1}",
                          seq=seq, pointer=ptr)
    for (s0, _, _, t0, _), (s1, _, _, t1, ptr) in zip(full, full[1:]):
        if t1 < t0:
            raise Failure("time_reversed", "events", f"time of seq {s1} ({t1}) is before that of seq {s0} ({t0})",
                          seq=s1, pointer=ptr)


def check_trace_start(ctx):
    first, m = ctx.entries[0], ctx.b["message"]
    expected = {"outbound": "message.submitted", "inbound": "message.received"}[m["direction"]]

    def fail(detail):
        return Failure("bad_trace_start", "events", detail, seq=first.seq, pointer=first.ptr)
    if first.type != expected:
        raise fail(f"the first entry is {first.type}; a {m['direction']} message starts with {expected}")
    if "participant" not in first.payload and not first.full:
        ctx.res.state("events", "/message/participant (the first event's participant is redacted)")
    elif first.payload.get("participant") != m["participant"]:
        raise fail(f"message.participant {m['participant']!r} differs from the first event's "
                   f"{first.payload.get('participant')!r}")
    if not first.full:
        ctx.res.state("events", f"/message (its first event, seq {first.seq}, is redacted)")


def check_events(ctx):
    for i, raw in enumerate(ctx.b["events"]):
        if raw["form"] == "full":
            e = check_full_event(ctx, i, raw)
        else:
            if not 2 <= raw["seq"] <= ctx.N:
                raise Failure("malformed_event", "events",
                              f"seq {raw['seq']} is outside 2…{ctx.N} (the checkpoint's tree)",
                              seq=raw["seq"], pointer=f"/events/{i}/seq")
            e = Entry(i, raw, None)
            ctx.res.state("events", f"/events/{i} (seq {e.seq}, redacted)")
        if e.type != "blob.erased":
            e.refs = find_references(e.payload)
        ctx.entries.append(e)
        ctx.by_seq[e.seq] = e
    check_chain(ctx)
    check_trace_start(ctx)
    ctx.res.done("events", "proofs")


# ----------------------------------------------------------------------------------------------
# 10.5 Blobs
# ----------------------------------------------------------------------------------------------

def classify(etype, ptr, payload):
    """§6's table: (kind, role) of a reference at `ptr` in an event of type `etype`."""
    def att(prefix):
        return re.fullmatch(re.escape(prefix) + r"/(0|[1-9][0-9]*)/blob", ptr) is not None
    if etype == "message.submitted":
        if ptr == "/payload/sdk_message":
            return "sdk_message", "content"
        if att("/payload/attachments"):
            return "attachment", "content"
    if etype in ("message.submitted", "message.receipt.sent", "message.resealed"):
        if ptr == "/payload/xhe":
            return "xhe", "evidence"
        if ptr == "/payload/dispatch/soap":
            return "as4_message", "evidence"
        if ptr == "/payload/dispatch/recipient_certificate":
            return "as4_certificate", "evidence"
        if ptr == "/payload/dispatch/recipient_o2o_certificate":
            return "o2o_certificate", "evidence"
        if att("/payload/dispatch/attachments"):
            return "as4_payload", "ciphertext"
    if etype in ("message.receipt.sent", "message.receipt.received") and ptr == "/payload/receipt":
        return "meddelandekvittens", "evidence"
    if etype == "message.submitted" and ptr == "/payload/content_encryption/key":
        return "content_key", "ciphertext"
    if etype == "message.receipt.sent" and ptr == "/payload/content/content_encryption/key":
        return "content_key", "ciphertext"
    if etype == "message.receipt.sent":
        if ptr == "/payload/content/sdk_message":
            return "sdk_message", "content"
        if att("/payload/content/attachments"):
            return "attachment", "content"
    if etype in ("message.received", "message.receipt.received"):
        if ptr == "/payload/xhe":
            return "xhe", "evidence"
        if ptr == "/payload/soap":
            return "as4_message", "evidence"
    if etype in ("transport.receipt.received", "transport.receipt.sent") and ptr == "/payload/receipt":
        return "as4_receipt", "evidence"
    if etype == "transport.error.received" and ptr == "/payload/response":
        return "as4_error", "evidence"
    if etype == "message.accessed" and ptr == "/payload/blob":
        return ("sdk_message" if payload.get("part") == "message" else "attachment"), "content"
    return "other", "content"


def derive_blobs(ctx):
    """The blob entries §6 derives from the events: {sha256: {...}} in first-reference order."""
    derived = {}
    for e in ctx.entries:
        for ptr, sha, size in e.refs:
            kind, role = classify(e.type, ptr, e.payload)
            d = derived.setdefault(sha, {"sizes": [], "kind": kind, "role": role, "references": [],
                                         "full": False})
            d["sizes"].append(size)
            if ROLE_RESTRICTION[role] < ROLE_RESTRICTION[d["role"]]:
                d["role"] = role
            d["references"].append({"seq": e.seq, "pointer": ptr})
            d["full"] = d["full"] or e.full
    for e in ctx.entries:
        if e.type == "blob.erased" and isinstance(e.payload.get("blob"), str):
            ctx.erasures.setdefault(e.payload["blob"].lower(), e.seq)
    return derived


def check_blob_entry(ctx, i, e, sha, d):
    def fail(detail, where=""):
        return Failure("blob_entry_mismatch", "blobs", detail, sha256=sha, index=i, pointer=f"/blobs/{i}" + where)
    if e["sha256"] != sha:
        raise fail(f"entry {i} is {e['sha256']}; by first reference it should be {sha}", "/sha256")
    if len(set(d["sizes"])) != 1:
        raise fail(f"the references record different sizes {sorted(set(d['sizes']))}")
    if e["size"] != d["sizes"][0]:
        raise fail(f"size {e['size']} differs from the referenced size {d['sizes'][0]}", "/size")
    if e["kind"] != d["kind"]:
        raise fail(f"kind {e['kind']!r}, derived {d['kind']!r}", "/kind")
    if e["role"] != d["role"]:
        raise fail(f"role {e['role']!r}, derived {d['role']!r}", "/role")
    if e["references"] != d["references"]:
        raise fail("references differ from those the events make", "/references")
    content = "content" in ctx.b
    state = e["state"]
    if sha in ctx.erasures:
        allowed = ("erased",)
    elif d["role"] == "ciphertext":
        allowed = ("omitted",)
    elif d["role"] == "content" and not content:
        allowed = ("withheld",)
    else:
        allowed = ("included", "missing")
    if state == "erased" and sha not in ctx.erasures:
        return  # named at 10.5's per-state check: blob_erased_without_event
    if state not in allowed:
        raise fail(f"state {state!r}; the rules of §6 give {' or '.join(allowed)}", "/state")


def check_blobs(ctx):
    derived = derive_blobs(ctx)
    entries = ctx.b["blobs"]
    for i, (sha, d) in enumerate(derived.items()):
        if i >= len(entries):
            raise Failure("blob_entry_mismatch", "blobs", f"no entry for referenced blob {sha}",
                          sha256=sha, index=i, pointer="/blobs")
        check_blob_entry(ctx, i, entries[i], sha, d)
    if len(entries) > len(derived):
        i = len(derived)
        raise Failure("blob_entry_mismatch", "blobs",
                      f"entry {i} ({entries[i]['sha256']}) is not referenced by the events",
                      sha256=entries[i]["sha256"], index=i, pointer=f"/blobs/{i}")
    for i, (e, d) in enumerate(zip(entries, derived.values())):
        sha, ptr = e["sha256"], f"/blobs/{i}"
        ctx.blobs[sha] = (i, e)
        if e["state"] == "included":
            data = base64.b64decode(e["data"])
            if len(data) != e["size"] or H(data).hex() != sha:
                raise Failure("blob_altered", "blobs",
                              f"data is {len(data)} bytes with SHA-256 {H(data).hex()}, not {e['size']} bytes {sha}",
                              sha256=sha, index=i, pointer=ptr + "/data")
        elif e["state"] == "missing":
            raise Failure("blob_missing", "blobs", f"blob {sha} is missing from the node, and no blob.erased names it",
                          sha256=sha, index=i, pointer=ptr)
        elif e["state"] == "erased" and e["erased_by"] != ctx.erasures.get(sha):
            raise Failure("blob_erased_without_event", "blobs",
                          f"erased_by {e['erased_by']}, but the first blob.erased entry naming it is "
                          f"{ctx.erasures.get(sha) or 'absent'}", sha256=sha, index=i, pointer=ptr + "/erased_by")
        if not d["full"]:
            ctx.res.state("blobs", f"{ptr} (referenced only by redacted entries)")
        if e["state"] == "withheld":
            ctx.res.state(None, f"{ptr}/reason")
    ctx.res.done("blobs")


# ----------------------------------------------------------------------------------------------
# 10.6 Content
# ----------------------------------------------------------------------------------------------

def expected_parts(ctx):
    """The parts the creation event lists, less the erased ones (§7)."""
    direction = ctx.b["message"]["direction"]
    src = None
    for e in ctx.entries:
        if direction == "outbound" and e.type == "message.submitted":
            src = e.payload
            break
        if direction == "inbound" and e.type == "message.receipt.sent" and isinstance(e.payload.get("content"), dict):
            src = e.payload["content"]
            break
    parts = []
    if src is None:
        return parts

    def sha_of(ref):
        return ref["sha256"].lower() if isinstance(ref, dict) and isinstance(ref.get("sha256"), str) else None
    sdk = sha_of(src.get("sdk_message"))
    if sdk and sdk not in ctx.erasures:
        parts.append({"part": "message", "content_type": "application/xml", "sha256": sdk})
    atts = src.get("attachments") if isinstance(src.get("attachments"), list) else []
    for n, a in enumerate(atts):
        a = a if isinstance(a, dict) else {}
        sha = sha_of(a.get("blob"))
        if sha in ctx.erasures:
            continue
        p = {"part": "attachment", "attachment": n}
        if "file_name" in a:
            p["file_name"] = a["file_name"]
        p["content_type"] = a.get("content_type")
        p["sha256"] = sha
        parts.append(p)
    return parts


def access_mismatch(ctx, seq, part):
    """Why access event `seq` does not record `part`, or None."""
    e = ctx.by_seq.get(seq)
    if e is None:
        return f"seq {seq} is not an entry of events"
    if not e.full or e.type != "message.accessed":
        return f"seq {seq} is not a full message.accessed entry"
    r, p = ctx.b["requester"], e.payload
    blob = p.get("blob") if isinstance(p.get("blob"), dict) else {}
    checks = [("actor", e.actor, r["actor"]), ("payload.interface", p.get("interface"), r["interface"]),
              ("payload.message", p.get("message"), ctx.b["message"]["id"]),
              ("payload.part", p.get("part"), part["part"]),
              ("payload.attachment", p.get("attachment"), part.get("attachment")),
              ("payload.blob.sha256", (blob.get("sha256") or "").lower(), part["sha256"])]
    for name, have, want in checks:
        if have != want:
            return f"seq {seq}: {name} is {have!r}, expected {want!r}"
    return None


def check_content(ctx):
    c = ctx.b.get("content")
    if c is None:
        ctx.res.done("content")
        return
    parts, acc = c["parts"], c["access_events"]

    def fail(detail, where="", **kw):
        return Failure("content_not_audited", "content", detail, pointer="/content" + where, **kw)
    for i, part in enumerate(parts):
        _, be = ctx.blobs.get(part["sha256"], (None, None))
        if be is None or be["state"] != "included" or be["role"] != "content":
            raise fail(f"part {i}'s blob {part['sha256']} is not an included content blob",
                       f"/parts/{i}", sha256=part["sha256"], index=i)
    if len(acc) != len(parts):
        raise fail(f"{len(acc)} access events for {len(parts)} parts", "/access_events")
    unused = list(acc)
    for i, part in enumerate(parts):
        match = next((s for s in unused if access_mismatch(ctx, s, part) is None), None)
        if match is None:
            why = access_mismatch(ctx, acc[i], part)
            raise fail(f"part {i} has no access event of its own ({why})", f"/parts/{i}", index=i)
        unused.remove(match)
    listed = {p["sha256"] for p in parts}
    for sha, (i, be) in ctx.blobs.items():
        if be["state"] == "included" and be["role"] == "content" and sha not in listed:
            raise fail(f"included content blob {sha} is not among the parts", "/parts", sha256=sha, index=i)
    expected = expected_parts(ctx)
    for i in range(max(len(parts), len(expected))):
        have = parts[i] if i < len(parts) else None
        want = expected[i] if i < len(expected) else None
        if have != want:
            raise fail(f"part {i} is {have}, the creation event lists {want}", f"/parts/{i}" if have else "/parts",
                       index=i)
    check_sealed_content(ctx, c, parts, fail)
    ctx.requester_proven = bool(acc)
    ctx.res.done("content")


def creation_content(ctx):
    """The creation event's content member: the submission's payload, or the content of the
    Meddelandekvittens we issued (as expected_parts finds it)."""
    direction = ctx.b["message"]["direction"]
    for e in ctx.entries:
        if direction == "outbound" and e.type == "message.submitted":
            return e.payload
        if direction == "inbound" and e.type == "message.receipt.sent" and isinstance(e.payload.get("content"), dict):
            return e.payload["content"]
    return None


def check_sealed_content(ctx, c, parts, fail):
    """Content encrypted at rest (Schemas/content-at-rest.md): the parts are ciphertexts; the data
    key must be the one the creation event commits to (key_check) and open every part."""
    src = creation_content(ctx) or {}
    enc = src.get("content_encryption")
    if enc is None:
        if "data_key" in c:
            raise fail("a data key for content that is not encrypted at rest", "/data_key")
        return
    if "data_key" not in c:
        raise fail("the content is encrypted at rest and the bundle carries no data key")
    import hmac
    key = base64.b64decode(c["data_key"])
    check = hmac.new(key, b"kvitto data key check v1", hashlib.sha256).hexdigest()
    if not isinstance(enc, dict) or enc.get("key_check") != check:
        raise fail("the data key is not the one the content was sealed under (its key_check differs)", "/data_key")
    for i, part in enumerate(parts):
        _, be = ctx.blobs[part["sha256"]]
        try:
            open_sealed(base64.b64decode(be["data"]), key)
        except ValueError as e:
            raise fail(f"part {i} does not decrypt under the data key: {e}", f"/parts/{i}", index=i)


def open_sealed(sealed, data_key):
    """The plaintext of a sealed blob (content-at-rest.md, "Layout of sealed content"); ValueError
    when it does not authenticate."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    if len(sealed) < 48 + 16 or sealed[:8] != b"KVTSEAL1" or sealed[12:16] != b"\0\0\0\0":
        raise ValueError("not a sealed blob")
    seg = int.from_bytes(sealed[8:12], "big")
    if not 16 <= seg <= 16 << 20:
        raise ValueError("segment size out of range")
    header, body = sealed[:48], sealed[48:]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=header[16:48], info=b"kvitto sealed blob v1").derive(data_key)
    aead = AESGCM(key)
    unit = seg + 16
    count = max(1, -(-len(body) // unit))
    if len(body) % unit and len(body) % unit < 16:
        raise ValueError("the last segment is cut short")
    out = bytearray()
    for i in range(count):
        chunk = body[i * unit:(i + 1) * unit]
        last = i == count - 1
        idx = i.to_bytes(8, "big")
        try:
            out += aead.decrypt(b"\0\0\0\0" + idx, chunk, header + idx + (b"\x01" if last else b"\x00"))
        except InvalidTag:
            raise ValueError(f"segment {i} does not authenticate")
    return bytes(out)


# ----------------------------------------------------------------------------------------------
# XML: parsing without DOCTYPE, element lookup, exclusive c14n
# ----------------------------------------------------------------------------------------------

class XmlRefused(Exception):
    pass


def refuse_doctype(data):
    probe = data
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        probe = data.decode("utf-16", "replace").encode("utf-8")
    low = probe.lower()
    if b"<!doctype" in low or b"<!entity" in low:
        raise XmlRefused("the document has a DOCTYPE or an ENTITY declaration")


class _NoDoctype(ET.TreeBuilder):
    def doctype(self, name, pubid, system):
        raise XmlRefused("the document has a DOCTYPE")


def parse_xml(data):
    """ElementTree root of a namespace-aware parse; XmlRefused for a DOCTYPE or bad XML."""
    refuse_doctype(data)
    try:
        parser = ET.XMLParser(target=_NoDoctype())
        parser.feed(data)
        return parser.close()
    except ET.ParseError as e:
        raise XmlRefused(f"not well-formed XML: {e}")


def q(name):
    prefix, local = name.split(":")
    return "{%s}%s" % (NS[prefix], local)


def text_of(el):
    return norm_space("".join(el.itertext())) if el is not None else None


def signed_info_references(sig):
    """[(uri, [transform algorithms], [inclusive prefixes], digest method, digest bytes)]."""
    out = []
    for r in sig.findall("ds:SignedInfo/ds:Reference", NS):
        transforms, prefixes = [], []
        for t in r.findall("ds:Transforms/ds:Transform", NS):
            transforms.append(norm_space(t.get("Algorithm", "")))
            for inc in t.findall("ec:InclusiveNamespaces", NS):
                prefixes += (inc.get("PrefixList") or "").split()
        dm, dv = r.find("ds:DigestMethod", NS), r.find("ds:DigestValue", NS)
        try:
            digest = base64.b64decode(re.sub(r"\s+", "", dv.text or ""), validate=True) if dv is not None else None
        except ValueError:
            digest = None
        out.append((norm_space(r.get("URI", "")), transforms, prefixes,
                    norm_space(dm.get("Algorithm", "")) if dm is not None else "", digest))
    return out


def recorded_references(dispatch):
    """D.signed_references as the tuples of signed_info_references, or None when malformed."""
    refs = dispatch.get("signed_references") if isinstance(dispatch, dict) else None
    if not isinstance(refs, list):
        return None
    out = []
    for r in refs:
        if not isinstance(r, dict):
            return None
        transforms, prefixes = r.get("transforms", []), r.get("inclusive_prefixes", [])
        if not (isinstance(r.get("uri"), str) and isinstance(r.get("digest_method"), str) and
                isinstance(transforms, list) and all(isinstance(t, str) for t in transforms) and
                isinstance(prefixes, list) and all(isinstance(p, str) for p in prefixes)):
            return None
        try:
            digest = base64.b64decode(re.sub(r"\s+", "", r.get("digest") or ""), validate=True)
        except (ValueError, TypeError):
            return None
        out.append((norm_space(r["uri"]), [norm_space(t) for t in transforms], prefixes,
                    norm_space(r["digest_method"]), digest))
    return out


def reference_key(ref):
    """§10.7's reference key: (URI, sorted transforms, digest method, digest bytes)."""
    uri, transforms, _, method, digest = ref
    return uri, tuple(sorted(transforms)), method, digest


def references_match(a, b):
    return len(a) == len(b) and {reference_key(r) for r in a} == {reference_key(r) for r in b}


class XNode:
    """An element as pyexpat reports it, with prefixes kept (needed for exclusive c14n)."""
    __slots__ = ("uri", "local", "prefix", "attrs", "inscope", "children", "start", "end")

    def qname(self):
        return f"{self.prefix}:{self.local}" if self.prefix else self.local


def _split_name(name):
    parts = name.split(" ")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return parts[0], parts[1], ""
    return "", name, ""


def parse_xnodes(data):
    """Root XNode of a document, with byte offsets of each element's start and end."""
    refuse_doctype(data)
    p = expat.ParserCreate(namespace_separator=" ")
    p.namespace_prefixes = True
    p.ordered_attributes = True
    p.buffer_text = True
    stack, pending, root = [], [], []

    def refuse(*_):
        raise XmlRefused("the document has a DOCTYPE or an ENTITY declaration")

    def start_ns(prefix, uri):
        pending.append((prefix or "", uri or ""))

    def start(name, attrs):
        n = XNode()
        n.uri, n.local, n.prefix = _split_name(name)
        n.attrs = [(_split_name(attrs[i]), attrs[i + 1]) for i in range(0, len(attrs), 2)]
        n.inscope = dict(stack[-1].inscope if stack else {})
        n.inscope.update(pending)
        pending.clear()
        n.children, n.start, n.end = [], p.CurrentByteIndex, None
        if stack:
            stack[-1].children.append(n)
        else:
            root.append(n)
        stack.append(n)

    def end(name):
        n = stack.pop()
        n.end = data.index(b">", p.CurrentByteIndex) + 1

    def chars(s):
        if stack:
            stack[-1].children.append(s)

    def pi(target, d):
        if stack:
            stack[-1].children.append(("pi", target, d))
    p.StartDoctypeDeclHandler = refuse
    p.EntityDeclHandler = refuse
    p.StartNamespaceDeclHandler = start_ns
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    p.ProcessingInstructionHandler = pi
    try:
        p.Parse(data, True)
    except expat.ExpatError as e:
        raise XmlRefused(f"not well-formed XML: {e}")
    return root[0]


def xnodes(n):
    yield n
    for c in n.children:
        if isinstance(c, XNode):
            yield from xnodes(c)


def _c14n_text(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")


def _c14n_attr(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
            .replace("\t", "&#x9;").replace("\n", "&#xA;").replace("\r", "&#xD;"))


def exc_c14n(apex, inclusive_prefixes=()):
    """Exclusive XML Canonicalization 1.0, without comments, of the subtree at `apex`."""
    inclusive = {"" if p == "#default" else p for p in inclusive_prefixes}
    out = []

    def walk(n, rendered):
        used = {n.prefix} | {a[0][2] for a in n.attrs if a[0][2]}
        decls, mine = [], dict(rendered)
        for p in sorted(used | {p for p in inclusive if p == "" or p in n.inscope}):
            if p == "xml":
                continue
            uri = n.inscope.get(p, "")
            if p and not uri:
                continue
            if rendered.get(p, "") != uri or (p and p not in rendered):
                if p == "" and uri == "" and rendered.get("", "") == "":
                    continue
                decls.append((p, uri))
                mine[p] = uri
        out.append("<" + n.qname())
        for p, uri in decls:
            out.append(f' xmlns:{p}="{_c14n_attr(uri)}"' if p else f' xmlns="{_c14n_attr(uri)}"')
        for (uri, local, prefix), value in sorted(n.attrs, key=lambda a: (a[0][0], a[0][1])):
            out.append(f' {prefix + ":" if prefix else ""}{local}="{_c14n_attr(value)}"')
        out.append(">")
        for c in n.children:
            if isinstance(c, XNode):
                walk(c, mine)
            elif isinstance(c, tuple):
                out.append(f"<?{c[1]}{' ' + c[2] if c[2] else ''}?>")
            else:
                out.append(_c14n_text(c))
        out.append(f"</{n.qname()}>")
    walk(apex, {})
    return "".join(out).encode("utf-8")


# ----------------------------------------------------------------------------------------------
# 10.7 AS4 evidence
# ----------------------------------------------------------------------------------------------

def signal_message(data, ref_to, code, region, seq, sha, need, signal_id=None):
    """The one eb:SignalMessage of an envelope, answering `ref_to`, holding `need`."""
    def fail(detail):
        return Failure(code, region, detail, seq=seq, sha256=sha)
    try:
        root = parse_xml(data)
    except XmlRefused as e:
        raise fail(str(e))
    if root.tag != q("S12:Envelope"):
        raise fail(f"the root is {root.tag}, not S12:Envelope")
    signals = root.findall("S12:Header/eb:Messaging/eb:SignalMessage", NS)
    if len(signals) != 1:
        raise fail(f"{len(signals)} eb:SignalMessage elements, expected exactly one")
    s = signals[0]
    if signal_id is not None and not same_id(text_of(s.find("eb:MessageInfo/eb:MessageId", NS)), signal_id):
        raise fail(f"eb:MessageId is not the recorded signal_message_id {signal_id!r}")
    if not same_id(text_of(s.find("eb:MessageInfo/eb:RefToMessageId", NS)), ref_to):
        raise fail(f"eb:RefToMessageId is not {ref_to!r}")
    if s.find(need, NS) is None:
        raise fail(f"the SignalMessage holds no {need}")
    return root, s


def single_signature(root):
    sigs = root.findall("S12:Header/wsse:Security/ds:Signature", NS)
    return sigs[0] if len(sigs) == 1 else None


def token_certificate(root):
    """The decoded BinarySecurityToken the signature's SecurityTokenReference names, or None."""
    sig = single_signature(root)
    ref = sig.find("ds:KeyInfo/wsse:SecurityTokenReference/wsse:Reference", NS) if sig is not None else None
    uri = norm_space(ref.get("URI", "")) if ref is not None else ""
    if not uri.startswith("#"):
        return None
    for bst in root.iter(q("wsse:BinarySecurityToken")):
        if norm_space(bst.get(q("wsu:Id"), "")) == uri[1:]:
            try:
                return base64.b64decode(re.sub(r"\s+", "", bst.text or ""), validate=True)
            except ValueError:
                return None
    return None


def find_dispatch(ctx, as4_id, before=None):
    """The last dispatch with `as4_id` (before seq `before`, when given): a message sealed again
    (message.resealed) is acknowledged as last sealed."""
    found = (None, None)
    for e in ctx.entries:
        if before is not None and e.seq >= before:
            break
        if e.type in ("message.submitted", "message.receipt.sent", "message.resealed"):
            d = e.payload.get("dispatch")
            if isinstance(d, dict) and d.get("as4_message_id") == as4_id:
                found = (e, d)
    return found


def note_input(ctx, region, e, what):
    if not e.full:
        ctx.res.state(region, f"{region}: {what} uses redacted entry seq {e.seq}")


def check_receipt_received(ctx, t):
    """A full transport.receipt.received T against its dispatch D."""
    p = t.payload
    as4_id = p.get("as4_message_id")
    de, d = find_dispatch(ctx, as4_id, before=t.seq)
    if d is None:
        raise Failure("receipt_unmatched", "transport", f"no dispatch with as4_message_id {as4_id!r}",
                      seq=t.seq, pointer=t.ptr)
    note_input(ctx, "transport", de, f"receipt seq {t.seq}")
    data = ctx.blob_bytes(p.get("receipt"))
    sha = p["receipt"]["sha256"].lower() if ctx.blob(p.get("receipt"))[1] else None
    if data is None:
        ctx.res.skip("transport", f"transport: receipt of seq {t.seq} (blob not included)")
    else:
        root, s = signal_message(data, as4_id, "receipt_mismatch", "transport", t.seq, sha, "eb:Receipt",
                                 signal_id=p.get("signal_message_id"))
        nri = s.findall("eb:Receipt/ebbp:NonRepudiationInformation/ebbp:MessagePartNRInformation/ds:Reference", NS)
        wrapper = ET.Element("w")
        si = ET.SubElement(wrapper, q("ds:SignedInfo"))
        si.extend(nri)
        recorded = recorded_references(d)
        if recorded is None or not references_match(signed_info_references(wrapper), recorded):
            raise Failure("nri_mismatch", "transport",
                          "the receipt's non-repudiation references do not match the signed_references of "
                          f"dispatch seq {de.seq}",
                          seq=t.seq, sha256=sha)
        cert = ctx.blob_bytes(d.get("recipient_certificate"))
        if cert is None:
            ctx.res.skip("transport",
                         f"transport: signer of the receipt of seq {t.seq} (certificate blob not included)")
        elif token_certificate(root) != cert:
            raise Failure("signer_mismatch", "transport",
                          "the receipt's signing BinarySecurityToken is not the recorded recipient_certificate",
                          seq=t.seq, sha256=sha)
    return de, d


def check_soap(ctx, de, d):
    """D's soap envelope against D.signed_references and D.as4_message_id."""
    data = ctx.blob_bytes(d.get("soap"))
    if data is None:
        ctx.res.skip("transport", f"transport: AS4 envelope of seq {de.seq} (blob not included)")
        return
    sha = d["soap"]["sha256"].lower()

    def fail(detail):
        return Failure("as4_message_mismatch", "transport", detail, seq=de.seq, sha256=sha)
    try:
        root = parse_xml(data)
    except XmlRefused as e:
        raise fail(str(e))
    sig = single_signature(root) if root.tag == q("S12:Envelope") else None
    if sig is None:
        raise fail("the envelope has no single S12:Header/wsse:Security/ds:Signature")
    recorded = recorded_references(d)
    if recorded is None or signed_info_references(sig) != recorded:
        raise fail("the SignedInfo references differ from the recorded signed_references")
    mid = text_of(root.find("S12:Header/eb:Messaging/eb:UserMessage/eb:MessageInfo/eb:MessageId", NS))
    want = d.get("as4_message_id")
    if not same_id(mid, want):
        raise fail(f"the eb:UserMessage MessageId is not {d.get('as4_message_id')!r}")
    note_input(ctx, "transport", de, f"AS4 envelope of seq {de.seq}")


def check_receipt_sent(ctx, s):
    """A full transport.receipt.sent S against the received message M."""
    as4_id = s.payload.get("as4_message_id")
    m = next((e for e in ctx.entries if e.type in ("message.received", "message.receipt.received")
              and e.payload.get("as4_message_id") == as4_id), None)
    if m is None:
        raise Failure("receipt_unmatched", "transport", f"no received message with as4_message_id {as4_id!r}",
                      seq=s.seq, pointer=s.ptr)
    note_input(ctx, "transport", m, f"receipt seq {s.seq}")
    data = ctx.blob_bytes(s.payload.get("receipt"))
    if data is None:
        ctx.res.skip("transport", f"transport: receipt of seq {s.seq} (blob not included)")
        return
    sha = s.payload["receipt"]["sha256"].lower()
    _, sm = signal_message(data, as4_id, "receipt_mismatch", "transport", s.seq, sha, "eb:Receipt")
    soap = ctx.blob_bytes(m.payload.get("soap"))
    if soap is None:
        ctx.res.skip("transport", f"transport: receipt of seq {s.seq} against the AS4 envelope (blob not included)")
        return
    try:
        sig = single_signature(parse_xml(soap))
    except XmlRefused:
        sig = None
    nri = sm.findall("eb:Receipt/ebbp:NonRepudiationInformation/ebbp:MessagePartNRInformation/ds:Reference", NS)
    wrapper = ET.Element("w")
    ET.SubElement(wrapper, q("ds:SignedInfo")).extend(nri)
    if sig is None or not references_match(signed_info_references(wrapper), signed_info_references(sig)):
        raise Failure("nri_mismatch", "transport",
                      f"the receipt's non-repudiation references do not match the SignedInfo of seq {m.seq}'s envelope",
                      seq=s.seq, sha256=sha)


def check_transport(ctx):
    checked = set()
    for t in ctx.entries:
        if t.full and t.type == "transport.receipt.received":
            de, d = check_receipt_received(ctx, t)
            if de.seq not in checked:
                checked.add(de.seq)
                check_soap(ctx, de, d)
    for e in ctx.entries:
        if e.type in ("message.submitted", "message.receipt.sent") and isinstance(e.payload.get("dispatch"), dict) \
                and e.seq not in checked:
            checked.add(e.seq)
            check_soap(ctx, e, e.payload["dispatch"])
    for s in ctx.entries:
        if s.full and s.type == "transport.receipt.sent":
            check_receipt_sent(ctx, s)
    for e in ctx.entries:
        if e.type == "transport.error.received":
            data = ctx.blob_bytes(e.payload.get("response"))
            if data is None:
                ctx.res.skip("transport", f"transport: error response of seq {e.seq} (blob not included)")
                continue
            signal_message(data, e.payload.get("as4_message_id"), "receipt_mismatch", "transport", e.seq,
                           e.payload["response"]["sha256"].lower(), "eb:Error")
            note_input(ctx, "transport", e, f"error response of seq {e.seq}")
    ctx.res.done("transport")


# ----------------------------------------------------------------------------------------------
# 10.8 SDK documents
# ----------------------------------------------------------------------------------------------

def blob_references(ctx, kind):
    """(blob index, entry, data, [(event entry, pointer)]) of every included blob of `kind`."""
    for sha, (i, be) in ctx.blobs.items():
        if be["kind"] == kind and be["state"] == "included":
            refs = [(ctx.by_seq[r["seq"]], r["pointer"]) for r in be["references"]]
            yield i, be, base64.b64decode(be["data"]), refs


def xhe_id(ctx):
    """The XHE ID of the bundle's message: its id, or for the recipient's record of a message
    delivered inside the node, the xhe_id of its message.received (the id is then that + ".in")."""
    msg_id = ctx.b["message"]["id"]
    for seq in sorted(ctx.by_seq):
        e = ctx.by_seq[seq]
        if e.type == "message.received" and isinstance(e.payload.get("xhe_id"), str):
            if msg_id != e.payload["xhe_id"] + ".in":
                raise Failure("xhe_mismatch", "documents", f"message {msg_id!r} is not the internal copy of XHE "
                              f"{e.payload['xhe_id']!r}", seq=e.seq)
            return e.payload["xhe_id"]
    return msg_id


def check_xhe(ctx):
    msg_id = xhe_id(ctx)
    for i, be, data, refs in blob_references(ctx, "xhe"):
        def fail(detail, seq=None):
            return Failure("xhe_mismatch", "documents", detail, seq=seq, sha256=be["sha256"], index=i,
                           pointer=f"/blobs/{i}")
        try:
            root = parse_xml(data)
        except XmlRefused as e:
            raise fail(str(e))
        if root.tag != q("xhe:XHE"):
            raise fail(f"the root is {root.tag}, not XHE")
        got = text_of(root.find("xha:Header/xhb:ID", NS))
        for e, ptr in refs:
            if ptr != "/payload/xhe":
                continue
            if e.type in ("message.submitted", "message.received"):
                want = msg_id
            elif e.type in ("message.receipt.sent", "message.receipt.received"):
                want = e.payload.get("receipt_id")
                if want is None and not e.full:
                    ctx.res.skip("documents", f"documents: XHE {be['sha256']} (receipt_id of seq {e.seq} redacted)")
                    continue
            else:
                continue
            if not same_id(got, want):
                raise fail(f"xha:Header/xhb:ID {got!r} is not {want!r} (seq {e.seq})", seq=e.seq)
            note_input(ctx, "documents", e, f"XHE {be['sha256']}")


def check_meddelandekvittens(ctx):
    msg_id = xhe_id(ctx)
    for i, be, data, refs in blob_references(ctx, "meddelandekvittens"):
        def fail(detail, seq=None):
            return Failure("meddelandekvittens_mismatch", "documents", detail, seq=seq, sha256=be["sha256"],
                           index=i, pointer=f"/blobs/{i}")
        try:
            root = parse_xml(data)
        except XmlRefused as e:
            raise fail(str(e))
        if root.tag != q("ar:ApplicationResponse"):
            raise fail(f"the root is {root.tag}, not ApplicationResponse")
        values = {"cbc:ID": text_of(root.find("cbc:ID", NS)),
                  "ResponseCode": text_of(root.find("cac:DocumentResponse/cac:Response/cbc:ResponseCode", NS)),
                  "DocumentReference/cbc:ID":
                      text_of(root.find("cac:DocumentResponse/cac:DocumentReference/cbc:ID", NS))}
        for e, ptr in refs:
            if ptr != "/payload/receipt" or e.type not in ("message.receipt.sent", "message.receipt.received"):
                continue
            wants = {"cbc:ID": e.payload.get("receipt_id"), "ResponseCode": e.payload.get("status"),
                     "DocumentReference/cbc:ID": msg_id}
            for name, want in wants.items():
                if want is None and not e.full:
                    ctx.res.skip("documents",
                                 f"documents: Meddelandekvittens {be['sha256']} {name} (redacted at seq {e.seq})")
                    continue
                if not same_id(values[name], want):
                    raise fail(f"{name} {values[name]!r} is not {want!r} (seq {e.seq})", seq=e.seq)
            note_input(ctx, "documents", e, f"Meddelandekvittens {be['sha256']}")


def gzip_payload(xhe):
    c = zlib.compressobj(6, zlib.DEFLATED, 31, 8, zlib.Z_DEFAULT_STRATEGY)
    return c.compress(xhe) + c.flush()


def check_payload_digests(ctx):
    for e in ctx.entries:
        d = e.payload.get("dispatch") if e.type in ("message.submitted", "message.receipt.sent") else None
        if not isinstance(d, dict):
            continue
        refs = recorded_references(d) or []
        cid = [r for r in refs if r[0].startswith("cid:")
               and any(t.endswith("#Attachment-Content-Signature-Transform") for t in r[1])]
        if not cid:
            continue
        xhe = ctx.blob_bytes(e.payload.get("xhe"))
        if xhe is None:
            ctx.res.skip("documents", f"documents: payload digest of seq {e.seq} (XHE not included)")
            continue
        gz = gzip_payload(xhe)
        for uri, _, _, method, digest in cid:
            algo = DIGESTS.get(method)
            if algo is None or hashlib.new(algo, gz).digest() != digest:
                ctx.res.skip("documents", f"documents: payload digest {uri} of seq {e.seq} not reproduced")
            else:
                note_input(ctx, "documents", e, f"payload digest of seq {e.seq}")


def check_documents(ctx):
    check_xhe(ctx)
    check_meddelandekvittens(ctx)
    check_payload_digests(ctx)
    ctx.res.done("documents")


# ----------------------------------------------------------------------------------------------
# 10.9 XML signatures
# ----------------------------------------------------------------------------------------------

_OIDS = {"2.5.4.3": "CN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST",
         "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.97": "organizationIdentifier"}


def _der(b, i):
    tag, length = b[i], b[i + 1]
    i += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(b[i:i + n], "big")
        i += n
    return tag, i, i + length


def certificate_subject(der):
    """The subject of an X.509 certificate, read with a minimal DER walk (for a person to judge)."""
    try:
        _, s, _ = _der(der, 0)
        _, i, _ = _der(der, s)
        tag, _, end = _der(der, i)
        if tag == 0xA0:
            i = end
        for _ in range(4):  # serial, signature, issuer, validity
            i = _der(der, i)[2]
        _, j, subject_end = _der(der, i)
        names = []
        while j < subject_end:
            _, k, set_end = _der(der, j)
            while k < set_end:
                _, a, atv_end = _der(der, k)
                _, os_, oe = _der(der, a)
                raw = der[os_:oe]
                arcs, v = [raw[0] // 40, raw[0] % 40], 0
                for byte in raw[1:]:
                    v = (v << 7) | (byte & 0x7F)
                    if not byte & 0x80:
                        arcs.append(v)
                        v = 0
                oid = ".".join(map(str, arcs))
                vt, vs, ve = _der(der, oe)
                value = der[vs:ve].decode("utf-16-be" if vt == 0x1E else "utf-8", "replace")
                names.append(f"{_OIDS.get(oid, oid)}={value}")
                k = atv_end
            j = set_end
        return ", ".join(names)
    except (IndexError, ValueError):
        return "(unreadable certificate)"


def xmlsec_time(event_time):
    return event_time[:10] + " " + event_time[11:19]


def run_xmlsec(args, files):
    """Runs xmlsec1 --verify with `files` ({name: bytes}) in a temporary folder; True when it verifies."""
    with tempfile.TemporaryDirectory(prefix="kvitto-verify-") as tmp:
        paths = {}
        for name, content in files.items():
            paths[name] = os.path.join(tmp, name)
            with open(paths[name], "wb") as f:
                f.write(content)
        cmd = ["xmlsec1", "--verify"] + [paths.get(a, a) for a in args]
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return r.returncode == 0


def first_reference_time(ctx, be):
    return ctx.by_seq[be["references"][0]["seq"]].time


def check_xhe_signatures(ctx, tool):
    for i, be, data, refs in blob_references(ctx, "xhe"):
        sha = be["sha256"]

        def fail(detail):
            return Failure("signature_invalid", "signatures", detail, sha256=sha, index=i, pointer=f"/blobs/{i}")
        try:
            root = parse_xml(data)
        except XmlRefused as e:
            raise fail(str(e))
        sig = next((s for s in root.iter(q("ds:Signature"))
                    if [r.get("URI") for r in s.findall("ds:SignedInfo/ds:Reference", NS)] == [""]), None)
        if sig is None:
            raise fail("the XHE has no enveloped signature (one ds:Reference URI=\"\")")
        if not tool:
            ctx.res.skip("signatures", f"signatures: XHE {sha} ({ctx.why_no_tool})")
            continue
        when = first_reference_time(ctx, be)
        args = ["--verification-time", xmlsec_time(when), "--enabled-reference-uris", "empty"]
        if ctx.cas:
            for ca in ctx.cas:
                args += ["--trusted-pem", ca]
        else:
            args.append("--insecure")
        if not run_xmlsec(args + ["doc.xml"], {"doc.xml": data}):
            raise fail(f"xmlsec1 does not verify the XHE's signature at {when}")
        if not ctx.cas:
            cert = sig.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
            subject = "(no certificate in KeyInfo)"
            if cert is not None:
                try:
                    subject = certificate_subject(base64.b64decode(re.sub(r"\s+", "", cert.text or "")))
                except ValueError:
                    pass
            ctx.res.state("signatures", f"signatures: XHE {sha} signed by {subject} (no --ca: certificate not checked)")


def keyinfo_as_x509(data, cert):
    """The receipt with its ds:KeyInfo replaced by the certificate itself (KeyInfo is not signed),
    so that xmlsec1 can check the certificate's chain against --ca."""
    root = parse_xnodes(data)
    ki = next((n for n in xnodes(root) if (n.uri, n.local) == (NS["ds"], "KeyInfo")), None)
    if ki is None:
        return None
    x509 = (f'<ds:KeyInfo xmlns:ds="{NS["ds"]}"><ds:X509Data><ds:X509Certificate>'
            f'{base64.b64encode(cert).decode()}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>')
    return data[:ki.start] + x509.encode() + data[ki.end:]


def check_receipt_signatures(ctx, tool):
    ids = [f"{NS['eb']}:Messaging", f"{NS['S12']}:Body", f"{NS['wsu']}:Timestamp"]
    for i, be, data, refs in blob_references(ctx, "as4_receipt"):
        sha = be["sha256"]

        def fail(detail):
            return Failure("signature_invalid", "signatures", detail, sha256=sha, index=i, pointer=f"/blobs/{i}")
        try:
            cert = token_certificate(parse_xml(data))
        except XmlRefused as e:
            raise fail(str(e))
        if cert is None:
            raise fail("the receipt's signature names no BinarySecurityToken")
        if not tool:
            ctx.res.skip("signatures", f"signatures: AS4 receipt {sha} ({ctx.why_no_tool})")
            continue
        args = ["--enabled-reference-uris", "same-doc"]
        for name in ids:
            args += ["--id-attr:Id", name]
        if ctx.cas:
            try:
                doc = keyinfo_as_x509(data, cert)
            except XmlRefused as e:
                raise fail(str(e))
            if doc is None:
                raise fail("the receipt's signature has no ds:KeyInfo")
            args += ["--verification-time", xmlsec_time(first_reference_time(ctx, be))]
            for ca in ctx.cas:
                args += ["--trusted-pem", ca]
            ok = run_xmlsec(args + ["doc.xml"], {"doc.xml": doc})
        else:
            ok = run_xmlsec(args + ["--pubkey-cert-der", "cert.der", "doc.xml"], {"doc.xml": data, "cert.der": cert})
        if not ok:
            raise fail("xmlsec1 does not verify the receipt's WS-Security signature"
                       + (" and certificate chain" if ctx.cas else ""))


def check_id_digests(ctx):
    """The `#id` references of each included as4_message, with exclusive c14n."""
    for i, be, data, refs in blob_references(ctx, "as4_message"):
        sha = be["sha256"]

        def fail(detail):
            return Failure("signature_invalid", "signatures", detail, sha256=sha, index=i, pointer=f"/blobs/{i}")
        try:
            root = parse_xml(data)
            nodes = list(xnodes(parse_xnodes(data)))
        except XmlRefused as e:
            raise fail(str(e))
        sig = single_signature(root)
        if sig is None:
            raise fail("the envelope has no single S12:Header/wsse:Security/ds:Signature")
        for uri, transforms, prefixes, method, digest in signed_info_references(sig):
            if not uri.startswith("#"):
                continue
            algo = DIGESTS.get(method)
            if transforms != [EXC_C14N] or algo is None:
                ctx.res.skip("signatures",
                             f"signatures: digest of {uri} in {sha} (transforms {transforms} not supported)")
                continue
            target = [n for n in nodes if any(name[:2] == (NS["wsu"], "Id") and norm_space(value) == uri[1:]
                                              for name, value in n.attrs)]
            if len(target) != 1:
                raise fail(f"{len(target)} elements carry wsu:Id {uri[1:]!r}")
            got = hashlib.new(algo, exc_c14n(target[0], prefixes)).digest()
            if got != digest:
                raise fail(f"the digest of {uri} is not the canonical element's")


def check_signatures(ctx):
    tool = ctx.xmlsec and shutil.which("xmlsec1") is not None
    ctx.why_no_tool = "xmlsec1 not found on PATH" if ctx.xmlsec else "xmlsec1 not used"
    check_xhe_signatures(ctx, tool)
    check_receipt_signatures(ctx, tool)
    check_id_digests(ctx)
    ctx.res.done("signatures")


# ----------------------------------------------------------------------------------------------
# 10.10 Witnesses
# ----------------------------------------------------------------------------------------------

def check_witness_entry(ctx, i, w):
    cp = ctx.b["checkpoint"]
    ptr = f"/witnesses/{i}"

    def fail(detail):
        return Failure("witness_invalid", "witness", detail, seq=w["seq"], pointer=ptr)
    if w["seq"] == cp["seq"]:
        if w["hash"] != cp["hash"] or "proof" in w or w["old_size"] != ctx.N or \
                bytes.fromhex(w["old_root"]) != ctx.R or w["consistency"]:
            raise fail("an entry at the checkpoint's seq must repeat its hash and root, without proofs")
        return
    if w["seq"] > cp["seq"]:
        raise fail("the entry's seq is above the checkpoint's")
    if "proof" not in w:
        raise fail("the entry has no inclusion proof")
    try:
        check_inclusion(ctx, w, ptr, region="witness")
    except Failure as e:
        raise fail(e.detail)
    if w["old_size"] != w["seq"] - 1:
        raise fail(f"old_size {w['old_size']} is not seq − 1")
    if not verify_consistency(w["old_size"], ctx.N, bytes.fromhex(w["old_root"]), ctx.R,
                              [bytes.fromhex(h) for h in w["consistency"]]):
        raise fail(f"the consistency proof from {w['old_size']} to {ctx.N} does not hold")


def parse_witness(data, n):
    """A --witness envelope, checked as §10.10 step 1; (envelope, None) or (envelope?, reason)."""
    try:
        w = parse_json(data.decode("utf-8").rstrip("\r\n"))
    except (UnicodeDecodeError, JsonError) as e:
        return None, f"--witness {n} is not strict JSON: {e}"
    if not isinstance(w, dict) or set(w) != ENVELOPE | {"hash", "sig"}:
        return None, f"--witness {n} is not an event envelope with hash and sig"
    why = check_envelope_types(w)
    if why or not isinstance(w["hash"], str) or strict_b64(w["sig"]) is None:
        return None, f"--witness {n}: {why or 'hash or sig malformed'}"
    body = {k: v for k, v in w.items() if k not in ("hash", "sig")}
    if H(jcs_bytes(body)).hex() != w["hash"]:
        return w, f"--witness {n}: hash is not the SHA-256 of its canonical bytes"
    p = w["payload"]
    if w["type"] != "ledger.checkpoint" or set(p) != {"root", "tree_size"} or p["tree_size"] != w["seq"] - 1 \
            or not isinstance(p["root"], str) or not HEX64.fullmatch(p["root"]):
        return w, f"--witness {n} is not a ledger.checkpoint with tree_size = seq − 1"
    return w, None


def check_witness_file(ctx, n, data):
    w, why = parse_witness(data, n)
    seq = w["seq"] if isinstance(w, dict) and is_int(w.get("seq")) else None
    if why:
        raise Failure("witness_invalid", "witness", why, seq=seq)
    cp = ctx.b["checkpoint"]
    if w["seq"] > cp["seq"]:
        raise Failure("witness_not_covered", "witness",
                      f"witness seq {w['seq']} is beyond the bundle's checkpoint seq {cp['seq']}: the bundle is older "
                      "than the witness, or the ledger was rolled back", seq=w["seq"])
    bad = signed(w, ctx.active(w["seq"]))
    if bad:
        raise Failure("witness_invalid", "witness", f"--witness {n}: {bad[0]}: {bad[1]}", seq=w["seq"])
    i, entry = next(((i, e) for i, e in enumerate(ctx.b["witnesses"]) if e["seq"] == w["seq"]), (None, None))
    if entry is None:
        raise Failure("witness_not_covered", "witness",
                      f"no witness entry for seq {w['seq']}: ask for a bundle naming this witness", seq=w["seq"])
    ptr = f"/witnesses/{i}"
    if entry["hash"] != w["hash"] or entry["old_root"] != w["payload"]["root"]:
        raise Failure("witness_rewritten", "witness",
                      f"the ledger no longer holds the witnessed checkpoint seq {w['seq']}: history was rewritten",
                      seq=w["seq"], pointer=ptr)
    if w["seq"] == cp["seq"]:
        ok = entry["hash"] == cp["hash"] and "proof" not in entry
    else:
        ok = "proof" in entry and entry["proof"]["leaf_index"] == w["seq"] - 1 and verify_inclusion(
            w["seq"] - 1, ctx.N, leaf(bytes.fromhex(entry["hash"])),
            [bytes.fromhex(h) for h in entry["proof"]["path"]], ctx.R)
    ok = ok and entry["old_size"] == w["payload"]["tree_size"] and verify_consistency(
        w["payload"]["tree_size"], ctx.N, bytes.fromhex(w["payload"]["root"]), ctx.R,
        [bytes.fromhex(h) for h in entry["consistency"]])
    if not ok:
        raise Failure("witness_inconsistent", "witness",
                      f"the tree of {ctx.N} events does not extend the witnessed tree of {w['payload']['tree_size']}",
                      seq=w["seq"], pointer=ptr)


def check_witnesses(ctx):
    named = set()
    for n, data in enumerate(ctx.witnesses, 1):
        w, _ = parse_witness(data, n)
        if isinstance(w, dict) and is_int(w.get("seq")):
            named.add(w["seq"])
    for i, w in enumerate(ctx.b["witnesses"]):
        if w["seq"] not in named:
            check_witness_entry(ctx, i, w)
    for n, data in enumerate(ctx.witnesses, 1):
        check_witness_file(ctx, n, data)
    ctx.res.done("witness")


# ----------------------------------------------------------------------------------------------
# The report
# ----------------------------------------------------------------------------------------------

def _read(x, what):
    if isinstance(x, (bytes, bytearray)):
        return bytes(x)
    try:
        with open(x, "rb") as f:
            return f.read()
    except OSError as e:
        raise Unreadable(f"cannot read {what} {x}: {e.strerror}")


def parse_trust_key(trust_key):
    if trust_key is None:
        return None
    if isinstance(trust_key, (bytes, bytearray)) and len(trust_key) == 32:
        return bytes(trust_key)
    raw = strict_b64(trust_key.decode() if isinstance(trust_key, (bytes, bytearray)) else trust_key)
    if raw is None or len(raw) != 32:
        raise ValueError("--trust-key must be the base64 of a raw 32-byte Ed25519 public key")
    return raw


def verify(data, trust_key=None, witnesses=(), cas=(), xmlsec=True):
    """Verifies a bundle (its file bytes) as §10 says; returns the report dict.

    trust_key: base64 text (or 32 raw bytes) of the genesis key; witnesses: witness files as bytes or
    paths; cas: CA PEM files as paths or bytes; xmlsec: False skips the xmlsec1 checks of §10.9."""
    trusted = parse_trust_key(trust_key)
    wit = [_read(w, "witness") for w in witnesses]
    tmp = None
    ca_paths = []
    for ca in cas:
        if isinstance(ca, (bytes, bytearray)):
            tmp = tmp or tempfile.TemporaryDirectory(prefix="kvitto-ca-")
            path = os.path.join(tmp.name, f"ca{len(ca_paths)}.pem")
            with open(path, "wb") as f:
                f.write(ca)
            ca_paths.append(path)
        else:
            _read(ca, "CA")
            ca_paths.append(os.fspath(ca))
    ctx = Ctx(None, trusted, wit, ca_paths, xmlsec)
    failure = None
    try:
        ctx.b = check_form(data)
        for m in ("/generated_at", "/node", "/requester/visibility", "/requester/purpose"):
            if m != "/requester/purpose" or "purpose" in ctx.b["requester"]:
                ctx.res.state(None, m)
        check_form_rules(ctx)
        ctx.res.done("bundle")
        for step in (check_checkpoint, check_keys, check_events, check_blobs, check_content, check_transport,
                     check_documents, check_signatures, check_witnesses):
            step(ctx)
    except Failure as f:
        failure = f
    finally:
        if tmp:
            tmp.cleanup()
    if ctx.b is not None and not ctx.requester_proven:
        ctx.res.state(None, "/requester/actor")
        ctx.res.state(None, "/requester/interface")
    return {
        "ok": failure is None,
        "failure": failure.as_dict() if failure else None,
        "checks": ctx.res.checks(failure),
        "stated": ctx.res.stated,
        "not_checked": ctx.res.not_checked,
        "genesis_key_pinned": trusted is not None,
    }


def human(report, name):
    lines = [f"{name}: {'OK' if report['ok'] else 'FAILED'}"]
    f = report["failure"]
    if f:
        where = ", ".join(f"{k} {f[k]}" for k in ("seq", "sha256", "index", "pointer") if k in f)
        lines.append(f"  failure: {f['code']} ({f['region']}{', ' + where if where else ''})")
        lines.append(f"    {f['detail']}")
    lines.append("  checks:")
    for r, v in report["checks"].items():
        lines.append(f"    {r:<11} {v}")
    if not report["genesis_key_pinned"]:
        lines.append("  genesis key not pinned (give --trust-key)")
    if report["stated"]:
        lines.append("  stated (not proven):")
        lines += [f"    {s}" for s in report["stated"]]
    if report["not_checked"]:
        lines.append("  not checked:")
        lines += [f"    {s}" for s in report["not_checked"]]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Verify a Kvitto evidence bundle (kvitto-evidence/1) offline.")
    ap.add_argument("file")
    ap.add_argument("--trust-key", help="base64 of the raw Ed25519 genesis public key")
    ap.add_argument("--witness", action="append", default=[], help="a checkpoint line kept outside the node")
    ap.add_argument("--ca", action="append", default=[], help="a CA certificate (PEM) for the XML signatures")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(errors="backslashreplace")
    try:
        data = _read(args.file, "bundle")
        report = verify(data, args.trust_key, args.witness, args.ca)
    except Unreadable as e:
        print(str(e), file=sys.stderr)
        return 2
    except ValueError as e:
        print(str(e), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(human(report, args.file))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
