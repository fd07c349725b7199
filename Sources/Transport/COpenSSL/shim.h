#ifndef KVITTO_COPENSSL_SHIM_H
#define KVITTO_COPENSSL_SHIM_H
// OpenSSL's libcrypto from Debian's libssl-dev, used only for what swift-crypto cannot do:
// streaming AES-GCM over payloads of hundreds of megabytes. Only Transport/Streams/AESGCMStream.swift
// uses it.
#include <openssl/evp.h>
#endif
