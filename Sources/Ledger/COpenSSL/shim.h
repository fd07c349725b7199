#ifndef KVITTO_COPENSSL_SHIM_H
#define KVITTO_COPENSSL_SHIM_H
// OpenSSL's libcrypto from Debian's libssl-dev, used only for what swift-crypto and
// swift-certificates cannot do well: SHA-256 of small inputs without a heap allocation per hash
// (Ledger/Events/Digest.swift: three hashes per event on the append path), streaming AES-GCM over
// payloads of hundreds of megabytes (Transport/Streams/AESGCMStream.swift) and X.509 CRLs
// (Transport/Trust/CertificateRevocationList.swift).

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, whose provider dispatch
// costs more than the hash itself for 33- and 65-byte Merkle inputs (121 ns against 53 ns here).
// They remain part of OpenSSL 3's API and compute the same standard SHA-256.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/bn.h>
#include <time.h>

/// SHA-256 of `count` bytes at `data` into `out` (32 bytes).
static inline void kvitto_sha256(const void *data, size_t count, unsigned char *out) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, data, count);
    SHA256_Final(out, &context);
}

/// SHA-256 of `prefix ‖ a (32 bytes) ‖ b (32 bytes, or nothing when NULL)`: RFC 6962 leaf and
/// node hashes.
static inline void kvitto_sha256_merkle(unsigned char prefix, const unsigned char *a, const unsigned char *b,
                                        unsigned char *out) {
    unsigned char input[65];
    input[0] = prefix;
    for (int i = 0; i < 32; i++) input[1 + i] = a[i];
    size_t count = 33;
    if (b != NULL) {
        for (int i = 0; i < 32; i++) input[33 + i] = b[i];
        count = 65;
    }
    kvitto_sha256(input, count, out);
}

/// DER → X509_CRL (NULL on error).
static inline X509_CRL *kvitto_crl_from_der(const unsigned char *der, long length) {
    const unsigned char *p = der;
    return d2i_X509_CRL(NULL, &p, length);
}

/// DER → X509 (NULL on error).
static inline X509 *kvitto_x509_from_der(const unsigned char *der, long length) {
    const unsigned char *p = der;
    return d2i_X509(NULL, &p, length);
}

/// 1 when `crl` was issued and signed by `issuer`, 0 otherwise.
static inline int kvitto_crl_issued_by(X509_CRL *crl, X509 *issuer) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) return 0;
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    if (key == NULL) return 0;
    return X509_CRL_verify(crl, key) == 1 ? 1 : 0;
}

/// -1 when `t` is before the CRL's thisUpdate, 1 when at/after nextUpdate (or no nextUpdate is
/// set and `requireNext`), 0 when the CRL is current.
static inline int kvitto_crl_currency(X509_CRL *crl, time_t t) {
    const ASN1_TIME *last = X509_CRL_get0_lastUpdate(crl);
    const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
    if (last == NULL || X509_cmp_time(last, &t) > 0) return -1;
    if (next == NULL || X509_cmp_time(next, &t) <= 0) return 1;
    return 0;
}

/// Looks a serial number up on `crl`. `serial` is the certificate's serial as unsigned big-endian
/// bytes (1 to 126 of them). Returns exactly what X509_CRL_get0_by_serial found: 1 listed, 2 listed
/// with the reason removeFromCRL (a delta-CRL entry), 0 not listed; -1 when the lookup could not be
/// made (no serial, too long, out of memory) — an error is never "not listed".
static inline int kvitto_crl_contains(X509_CRL *crl, const unsigned char *serial, int length) {
    if (crl == NULL || serial == NULL || length <= 0 || length > 126) return -1;
    BIGNUM *bn = BN_bin2bn(serial, length, NULL);
    if (bn == NULL) return -1;
    ASN1_INTEGER *integer = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    if (integer == NULL) return -1;
    X509_REVOKED *revoked = NULL;
    int rc = X509_CRL_get0_by_serial(crl, &revoked, integer);
    ASN1_INTEGER_free(integer);
    switch (rc) {
    case 0: return 0;
    case 1: return 1;
    case 2: return 2;
    default: return -1;
    }
}

/// 1 when `crl` is a delta CRL (it has a deltaCRLIndicator extension), 0 when not, -1 when its
/// extensions cannot be read.
static inline int kvitto_crl_is_delta(X509_CRL *crl) {
    if (crl == NULL) return -1;
    int at = X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1);
    if (at >= 0) return 1;
    return at == -1 ? 0 : -1;
}

/// `time` as seconds since 1970 into `out`; 1 on success, 0 when absent or unreadable.
static inline int kvitto_asn1_time_unix(const ASN1_TIME *time, long long *out) {
    if (time == NULL || out == NULL) return 0;
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    if (epoch == NULL) return 0;
    int days = 0, seconds = 0;
    int ok = ASN1_TIME_diff(&days, &seconds, epoch, time);
    ASN1_TIME_free(epoch);
    if (ok != 1) return 0;
    *out = (long long)days * 86400 + seconds;
    return 1;
}

/// The CRL's thisUpdate as seconds since 1970 into `out`; 1 on success, 0 when unreadable.
static inline int kvitto_crl_this_update(X509_CRL *crl, long long *out) {
    return crl == NULL ? 0 : kvitto_asn1_time_unix(X509_CRL_get0_lastUpdate(crl), out);
}

/// The CRL's nextUpdate as seconds since 1970 into `out`; 1 on success, 0 when absent or unreadable.
static inline int kvitto_crl_next_update(X509_CRL *crl, long long *out) {
    return crl == NULL ? 0 : kvitto_asn1_time_unix(X509_CRL_get0_nextUpdate(crl), out);
}
#endif
