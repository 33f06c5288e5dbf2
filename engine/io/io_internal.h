/*
 * io_internal.h — what the fd-based backends (io_posix.c, io_uring.c) share.
 * Not part of the I/O contract (io.h); the fault backend does not use it.
 *
 * Both backends hand out the same lsm_file: a heap cell holding the file
 * descriptor, so the io_uring backend reuses the POSIX open/close/size/
 * truncate, which have no asynchronous benefit.
 */
#ifndef LSM_IO_INTERNAL_H
#define LSM_IO_INTERNAL_H

#include <stdint.h>

#include "io/io.h"

struct lsm_file {
    int fd;
    int direct; /* opened with IO_DIRECT */
};

/* Opens path with the flags io.h gives mode (IO_CREATE: O_CREAT|O_TRUNC|
 * O_RDWR with permission bits perm; IO_READ: O_RDONLY; IO_APPEND: O_RDWR;
 * always O_CLOEXEC; IO_DIRECT adds O_DIRECT).  Errors: -EINVAL (mode), -errno, -ENOMEM. */
int posix_file_open(const char *path, int mode, unsigned perm, lsm_file **out);
/* Closes and frees f; returns 0 or -errno (f is freed in every case). */
int posix_file_close(lsm_file *f);
int posix_file_truncate(lsm_file *f, uint64_t size);
int posix_file_size(lsm_file *f, uint64_t *out);

#endif
