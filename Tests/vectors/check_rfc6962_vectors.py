#!/usr/bin/env python3
"""Independent check of rfc6962-vectors.json (standard library only).

Recomputes every tree head from the leaf inputs (RFC 6962 section 2.1), regenerates each
inclusion path (section 2.1.1) and consistency proof (section 2.1.2) and compares them with
the published values, then verifies each published proof with the RFC 9162 algorithms
(section 2.1.3.2 inclusion, section 2.1.4.2 consistency), and checks that tampered proofs are rejected.
Exits 0 if everything passes, 1 otherwise.

Usage: python3 check_rfc6962_vectors.py [path/to/rfc6962-vectors.json]
"""
import json
import os
import sys


from rfc6962 import leaf_hash, mth, path, proof, verify_consistency, verify_inclusion  # noqa: E402


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
