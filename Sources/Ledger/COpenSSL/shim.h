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

/// 1 when the serial (big-endian bytes) is on the CRL, 0 when not, -1 on error.
static inline int kvitto_crl_contains(X509_CRL *crl, const unsigned char *serial, int length) {
    BIGNUM *bn = BN_bin2bn(serial, length, NULL);
    if (bn == NULL) return -1;
    ASN1_INTEGER *integer = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    if (integer == NULL) return -1;
    X509_REVOKED *revoked = NULL;
    int rc = X509_CRL_get0_by_serial(crl, &revoked, integer);
    ASN1_INTEGER_free(integer);
    return rc == 1 ? 1 : 0;
}
#endif
