#ifndef KVITTO_CZLIB_SHIM_H
#define KVITTO_CZLIB_SHIM_H
// zlib from Debian's zlib1g-dev, for streaming gzip (AS4 payload compression). Only
// Transport/Streams/Gzip.swift uses it.
#include <zlib.h>

/// deflateInit2 / inflateInit2 are macros; these call them with gzip framing (windowBits 31).
static inline int kvitto_deflate_init_gzip(z_streamp s, int level) {
    return deflateInit2(s, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
static inline int kvitto_inflate_init_gzip(z_streamp s) {
    return inflateInit2(s, 15 + 16);
}
#endif
