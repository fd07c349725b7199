#!/usr/bin/env python3
"""Independent check of rfc6962-vectors.json (standard library only).

Recomputes every tree head from the leaf inputs (RFC 6962 section 2.1), regenerates each
inclusion path (section 2.1.1) and consistency proof (section 2.1.2) and compares them with
the published values, then verifies each published proof with the RFC 9162 algorithms
(section 2.1.3.2 inclusion, section 2.1.4.2 consistency), and checks that tampered proofs are rejected.
Exits 0 if everything passes, 1 otherwise.

Usage: python3 check_rfc6962_vectors.py [path/to/rfc6962-vectors.json]
"""
import hashlib
import json
import os
import sys


def sha256(b):
    return hashlib.sha256(b).digest()


def leaf_hash(d):
    return sha256(b"\x00" + d)


def node_hash(l, r):
    return sha256(b"\x01" + l + r)


def split_point(n):
    """Largest power of two strictly smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d):
    """RFC 6962 section 2.1 Merkle Tree Hash."""
    if len(d) == 0:
        return sha256(b"")
    if len(d) == 1:
        return leaf_hash(d[0])
    k = split_point(len(d))
    return node_hash(mth(d[:k]), mth(d[k:]))


def path(m, d):
    """RFC 6962 section 2.1.1 PATH(m, D[n]), m 0-based."""
    n = len(d)
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, b):
    """RFC 6962 section 2.1.2 SUBPROOF(m, D[n], b)."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = split_point(n)
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def proof(m, d):
    return subproof(m, d, True)


def verify_inclusion(index, size, lh, proof_path, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, lh
    for p in proof_path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, cpath):
    """RFC 9162 section 2.1.4.2 (with the equal-size case: the proof is empty and the roots equal)."""
    if first == 0 or first > second:
        return False
    if first == second:
        return len(cpath) == 0 and first_hash == second_hash
    if len(cpath) == 0:
        return False
    cpath = list(cpath)
    if first & (first - 1) == 0:  # exact power of two
        cpath = [first_hash] + cpath
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = cpath[0]
    for c in cpath[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    fname = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "LedgerTests", "Resources", "rfc6962-vectors.json")
    with open(fname) as f:
        v = json.load(f)

    failures = []
    checks = 0

    def check(cond, what):
        nonlocal checks
        checks += 1
        if not cond:
            failures.append(what)

    h = bytes.fromhex
    leaves = [h(x) for x in v["leaves"]]
    check(v["leaves"] == ["", "00", "10", "2021", "3031", "40414243",
                          "5051525354555657", "606162636465666768696a6b6c6d6e6f"], "leaf inputs")
    check(mth([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          "empty root = SHA-256('')")
    if "empty_root" in v:
        check(mth([]).hex() == v["empty_root"], "published empty_root")
    roots = [h(x) for x in v["roots"]]
    check(len(roots) == 8, "8 roots")
    for n in range(1, len(roots) + 1):
        check(mth(leaves[:n]) == roots[n - 1], "root of size %d" % n)

    check(len(v["inclusion"]) > 0, "inclusion cases present")
    for c in v["inclusion"]:
        i, n, p = c["leaf_index"], c["tree_size"], [h(x) for x in c["path"]]
        tag = "inclusion leaf %d size %d" % (i, n)
        check(path(i, leaves[:n]) == p, tag + ": regenerated path equals published")
        lh, root = leaf_hash(leaves[i]), roots[n - 1]
        check(verify_inclusion(i, n, lh, p, root), tag + ": verifies")
        check(not verify_inclusion(i, n, leaf_hash(b"WrongLeaf"), p, root), tag + ": wrong leaf rejected")
        check(not verify_inclusion(i, n, lh, p + [root], root), tag + ": extra element rejected")
        check(not verify_inclusion(i, n, lh, p, mth([])), tag + ": wrong root rejected")
        if n > 1:
            check(not verify_inclusion(i ^ 1 if (i ^ 1) < n else i - 1, n, lh, p, root), tag + ": wrong index rejected")
        for j in range(len(p)):
            bad = list(p)
            bad[j] = mth([])
            check(not verify_inclusion(i, n, lh, bad, root), tag + ": tampered element %d rejected" % j)

    check(len(v["consistency"]) > 0, "consistency cases present")
    for c in v["consistency"]:
        m, n, p = c["size1"], c["size2"], [h(x) for x in c["proof"]]
        tag = "consistency %d -> %d" % (m, n)
        check(proof(m, leaves[:n]) == p, tag + ": regenerated proof equals published")
        r1, r2 = roots[m - 1], roots[n - 1]
        check(verify_consistency(m, n, r1, r2, p), tag + ": verifies")
        if m < n:
            check(not verify_consistency(m, n, r2, r2, p), tag + ": wrong old root rejected")
            check(not verify_consistency(m, n, r1, r1, p), tag + ": wrong new root rejected")
            check(not verify_consistency(m, n, r1, r2, p + [p[-1]]), tag + ": extra element rejected")
            check(not verify_consistency(m, n, r1, r2, p[:-1]), tag + ": truncated proof rejected")
            for j in range(len(p)):
                bad = list(p)
                bad[j] = mth([])
                check(not verify_consistency(m, n, r1, r2, bad), tag + ": tampered element %d rejected" % j)

    # Sanity of the verifiers themselves: every proof of every size 1..8 verifies.
    for n in range(1, 9):
        for i in range(n):
            check(verify_inclusion(i, n, leaf_hash(leaves[i]), path(i, leaves[:n]), roots[n - 1]),
                  "generated inclusion %d/%d" % (i, n))
        for m in range(1, n + 1):
            check(verify_consistency(m, n, roots[m - 1], roots[n - 1], proof(m, leaves[:n])),
                  "generated consistency %d->%d" % (m, n))

    if failures:
        for f_ in failures:
            print("FAIL:", f_)
        print("%d of %d checks failed" % (len(failures), checks))
        return 1
    print("OK: all %d checks passed (%d roots, %d inclusion cases, %d consistency cases)"
          % (checks, len(roots), len(v["inclusion"]), len(v["consistency"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
