#ifndef KVITTO_COPENSSL_SHIM_H
#define KVITTO_COPENSSL_SHIM_H
// OpenSSL's libcrypto from Debian's libssl-dev, used only for what swift-crypto and
// swift-certificates cannot do well: SHA-256 of small inputs without a heap allocation per hash
// (Ledger/Events/Digest.swift: three hashes per event on the append path), streaming AES-GCM over
// payloads of hundreds of megabytes (Transport/Streams/AESGCMStream.swift), X.509 CRLs
// (Transport/Trust/CertificateRevocationList.swift) and RSA private-key operations
// (Transport/Security/RSAPrivateKey.swift: OpenSSL 3's RSA uses the CPU's AVX-512 IFMA
// multiplication where there is one, about twice BoringSSL's rate on such machines, and is no
// slower elsewhere), and PKCS#12 files as CAs hand them out (Transport/Security/CredentialFile.swift).

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, whose provider dispatch
// costs more than the hash itself for 33- and 65-byte Merkle inputs (121 ns against 53 ns here).
// They remain part of OpenSSL 3's API and compute the same standard SHA-256.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/pkcs12.h>
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

/// DER (a PKCS#1 RSAPrivateKey or a PKCS#8 PrivateKeyInfo) → an EVP_PKEY holding an RSA key of at
/// least 2048 bits, with no bytes left over; NULL otherwise.
static inline EVP_PKEY *kvitto_rsa_private_from_der(const unsigned char *der, long length) {
    const unsigned char *p = der;
    EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, length);
    // The decoders may leave errors on the thread's queue even when one of them succeeded.
    ERR_clear_error();
    if (key == NULL) return NULL;
    if (p != der + length || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) < 2048) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

/// The size in bytes of `key`'s signatures and ciphertexts.
static inline int kvitto_rsa_size(EVP_PKEY *key) { return EVP_PKEY_get_size(key); }

/// RSASSA-PKCS1-v1_5 with SHA-256 over the 32-byte `digest`: the DigestInfo is built by OpenSSL.
/// `out` has room for `*length` bytes (at least kvitto_rsa_size); on success `*length` is the
/// signature's length and 1 is returned; 0 on any failure (the thread's error queue is cleared).
/// Each call uses its own EVP_PKEY_CTX, so one key serves any number of threads at once.
static inline int kvitto_rsa_sign_sha256(EVP_PKEY *key, const unsigned char *digest, unsigned char *out, size_t *length) {
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new(key, NULL);
    if (context == NULL) { ERR_clear_error(); return 0; }
    int ok = EVP_PKEY_sign_init(context) == 1
        && EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1
        && EVP_PKEY_CTX_set_signature_md(context, EVP_sha256()) == 1
        && EVP_PKEY_sign(context, out, length, digest, 32) == 1;
    EVP_PKEY_CTX_free(context);
    if (!ok) ERR_clear_error();
    return ok;
}

/// RSAES-OAEP decryption of `count` bytes at `input`: with `sha256` non-zero the OAEP digest and
/// MGF1 both use SHA-256, otherwise both SHA-1 (RFC 8017's default, XML-Enc's rsa-oaep-mgf1p); no
/// label. `out` has room for `*length` bytes (at least kvitto_rsa_size); returns 1 with `*length`
/// set to the plaintext's length, 0 on any failure, whatever its cause (OpenSSL's OAEP check runs
/// in constant time; the error queue is cleared).
static inline int kvitto_rsa_oaep_decrypt(EVP_PKEY *key, int sha256, const unsigned char *input, size_t count,
                                          unsigned char *out, size_t *length) {
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new(key, NULL);
    if (context == NULL) { ERR_clear_error(); return 0; }
    const EVP_MD *md = sha256 ? EVP_sha256() : EVP_sha1();
    int ok = EVP_PKEY_decrypt_init(context) == 1
        && EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) == 1
        && EVP_PKEY_CTX_set_rsa_oaep_md(context, md) == 1
        && EVP_PKEY_CTX_set_rsa_mgf1_md(context, md) == 1
        && EVP_PKEY_decrypt(context, out, length, input, count) == 1;
    EVP_PKEY_CTX_free(context);
    if (!ok) ERR_clear_error();
    return ok;
}

/// An Ed25519 key from its 32 raw bytes (`isPrivate`: the seed, otherwise the public key); NULL on
/// error. For `kvitto bench`, which measures OpenSSL's Ed25519 next to BoringSSL's.
static inline EVP_PKEY *kvitto_ed25519_key(const unsigned char *raw, int isPrivate) {
    EVP_PKEY *key = isPrivate ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32)
                              : EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
    if (key == NULL) ERR_clear_error();
    return key;
}

/// The 64-byte Ed25519 signature of `count` bytes into `signature`; 1 on success.
static inline int kvitto_ed25519_sign(EVP_PKEY *key, const unsigned char *message, size_t count, unsigned char *signature) {
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    if (context == NULL) return 0;
    size_t length = 64;
    int ok = EVP_DigestSignInit(context, NULL, NULL, NULL, key) == 1
        && EVP_DigestSign(context, signature, &length, message, count) == 1 && length == 64;
    EVP_MD_CTX_free(context);
    if (!ok) ERR_clear_error();
    return ok;
}

/// 1 when `signature` (64 bytes) is `key`'s Ed25519 signature of `count` bytes, 0 otherwise.
static inline int kvitto_ed25519_verify(EVP_PKEY *key, const unsigned char *signature, const unsigned char *message, size_t count) {
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    if (context == NULL) return 0;
    int ok = EVP_DigestVerifyInit(context, NULL, NULL, NULL, key) == 1
        && EVP_DigestVerify(context, signature, 64, message, count) == 1;
    EVP_MD_CTX_free(context);
    if (!ok) ERR_clear_error();
    return ok;
}

/// AES-256-CBC encryption (no padding: `count` is a multiple of 16) of `input` into `out`, through
/// EVP; 1 on success. For `kvitto bench`'s AES limit.
static inline int kvitto_aes256cbc_encrypt(const unsigned char *key, const unsigned char *iv, const unsigned char *input,
                                           int count, unsigned char *out) {
    EVP_CIPHER_CTX *context = EVP_CIPHER_CTX_new();
    if (context == NULL) return 0;
    int length = 0, final = 0;
    int ok = EVP_EncryptInit_ex(context, EVP_aes_256_cbc(), NULL, key, iv) == 1
        && EVP_CIPHER_CTX_set_padding(context, 0) == 1
        && EVP_EncryptUpdate(context, out, &length, input, count) == 1
        && EVP_EncryptFinal_ex(context, out + length, &final) == 1;
    EVP_CIPHER_CTX_free(context);
    if (!ok) ERR_clear_error();
    return ok;
}
/// Opens a PKCS#12 file (DER, `length` bytes) with `password` (NUL-terminated; "" for none):
/// its private key as PKCS#8 DER into `*key` / `*keyLength`, and its certificates — the one
/// matching the key first, then the others — as concatenated DER into `*certificates` /
/// `*certificatesLength` (both freed with `OPENSSL_free`). Returns 1 on success; 0 when the bytes
/// are not PKCS#12; -1 when the password does not open it (its MAC does not verify); -2 when it
/// holds no private key or no certificate for it; -3 when OpenSSL cannot read its contents (an
/// algorithm it does not enable, such as the RC2 of legacy files, or damage). The error queue is
/// cleared.
static inline int kvitto_pkcs12_parse(const unsigned char *der, long length, const char *password, unsigned char **key,
                                      int *keyLength, unsigned char **certificates, int *certificatesLength) {
    *key = NULL; *certificates = NULL; *keyLength = 0; *certificatesLength = 0;
    const unsigned char *p = der;
    PKCS12 *p12 = d2i_PKCS12(NULL, &p, length);
    if (p12 == NULL || p != der + length) { if (p12) PKCS12_free(p12); ERR_clear_error(); return 0; }
    // An empty password may have been applied as "" or as no password at all (two different MAC
    // keys); OpenSSL's own parser tries both, and so does this check.
    if (PKCS12_mac_present(p12) && PKCS12_verify_mac(p12, password, -1) != 1
        && !(password[0] == '\0' && PKCS12_verify_mac(p12, NULL, 0) == 1)) { PKCS12_free(p12); ERR_clear_error(); return -1; }
    EVP_PKEY *pkey = NULL; X509 *leaf = NULL; STACK_OF(X509) *others = NULL;
    int parsed = PKCS12_parse(p12, password, &pkey, &leaf, &others);
    PKCS12_free(p12);
    if (parsed != 1) { EVP_PKEY_free(pkey); X509_free(leaf); sk_X509_pop_free(others, X509_free); ERR_clear_error(); return -3; }
    int rc = 1;
    if (pkey == NULL || leaf == NULL) { rc = -2; goto done; }
    PKCS8_PRIV_KEY_INFO *info = EVP_PKEY2PKCS8(pkey);
    if (info == NULL) { rc = -3; goto done; }
    *keyLength = i2d_PKCS8_PRIV_KEY_INFO(info, key);
    PKCS8_PRIV_KEY_INFO_free(info);
    if (*keyLength <= 0) { rc = -3; goto done; }
    int total = i2d_X509(leaf, NULL);
    int count = others == NULL ? 0 : sk_X509_num(others);
    for (int i = 0; i < count && total > 0; i++) {
        int one = i2d_X509(sk_X509_value(others, i), NULL);
        total = one > 0 ? total + one : -1;
    }
    if (total <= 0 || (*certificates = OPENSSL_malloc(total)) == NULL) { rc = -3; goto done; }
    unsigned char *out = *certificates;
    i2d_X509(leaf, &out);
    for (int i = 0; i < count; i++) i2d_X509(sk_X509_value(others, i), &out);
    *certificatesLength = total;
done:
    if (rc != 1) {
        if (*key) { OPENSSL_clear_free(*key, *keyLength > 0 ? *keyLength : 0); *key = NULL; }
        if (*certificates) { OPENSSL_free(*certificates); *certificates = NULL; }
        *keyLength = 0; *certificatesLength = 0;
    }
    EVP_PKEY_free(pkey);
    X509_free(leaf);
    sk_X509_pop_free(others, X509_free);
    ERR_clear_error();
    return rc;
}
/// Frees what OpenSSL allocated (OPENSSL_free is a macro), zeroing `count` bytes first when
/// `count` > 0 (key material).
static inline void kvitto_openssl_free(void *pointer, size_t count) {
    if (count > 0) OPENSSL_clear_free(pointer, count); else OPENSSL_free(pointer);
}
#endif
