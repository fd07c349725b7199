#ifndef KVITTO_CLMDB_SHIM_H
#define KVITTO_CLMDB_SHIM_H
#include <lmdb.h>
#include <unistd.h>
#include <sys/syscall.h>

/// syncfs(2) on the file system holding `fd` (Swift's Glibc module does not declare the GNU
/// extension): the durability half of the storage layer, next to LMDB's own commits. 0 on success,
/// -1 with errno set.
static inline int kvitto_syncfs(int fd) {
    return (int)syscall(SYS_syncfs, fd);
}

/// fallocate(2) with mode 0 (allocate, extending the file when needed), for the same reason: the
/// blocks of a store written through its map are reserved before the map covers them. 0 on
/// success, -1 with errno set.
static inline int kvitto_fallocate(int fd, long long offset, long long length) {
    return (int)syscall(SYS_fallocate, fd, 0, (long)offset, (long)length);
}
#endif
