"""RFC 6962 / RFC 9162 Merkle tree hashing, proof generation and proof verification, written from
the RFCs with the Python standard library only. Shared by the independent checkers in this folder."""
import hashlib


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


def root_from_leaf_hashes(leaves):
    """MTH over leaves that are already leaf hashes (as in a Kvitto ledger: SHA-256(0x00 ‖ event hash))."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = split_point(n)
    return node_hash(root_from_leaf_hashes(leaves[:k]), root_from_leaf_hashes(leaves[k:]))
