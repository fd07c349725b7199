#ifndef KVITTO_CLMDB_SHIM_H
#define KVITTO_CLMDB_SHIM_H
#include <lmdb.h>
#endif
