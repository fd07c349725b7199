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
#endif
