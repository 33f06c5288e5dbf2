/*
 * segment.h — a shared-memory segment: an anonymous memfd of a fixed size,
 * sealed so its size can never change, mapped MAP_SHARED.
 *
 * Why sealed: a client maps a file the daemon created and vice versa.  If
 * either side could shrink it, the other would take SIGBUS on its next
 * access; F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL makes the size permanent, so
 * a mapping that was valid once stays valid for its whole life even when
 * the peer is hostile or dead.  The mapper checks the seals (F_GET_SEALS)
 * and the size (fstat) before it maps.
 *
 * Errors are 0 or -errno.  Thread safety: the functions touch only their
 * arguments; a struct shm_segment belongs to its owner.
 */
#ifndef LSM_SHM_SEGMENT_H
#define LSM_SHM_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

/* The seals every segment carries (the directory adds F_SEAL_FUTURE_WRITE). */
#define SHM_SEALS_REQUIRED (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

struct shm_segment {
    void *base;             /* mapping, NULL when not mapped */
    size_t size;            /* bytes mapped = file size */
    int fd;                 /* the memfd (owned), -1 when none */
    int prot;               /* PROT_READ or PROT_READ|PROT_WRITE */
};

/* Creates a memfd named name (shows in /proc/PID/fd, for operators) of size
 * bytes (rounded up to a page), zero-filled, seals it with
 * SHM_SEALS_REQUIRED | extra_seals and maps it read-write.  numa_node >= 0
 * asks the kernel to place its pages on that node (mbind MPOL_PREFERRED,
 * before any page is touched; ignored where unsupported); -1 = no policy.
 * Errors: -EINVAL (size 0), -EMFILE, -ENOMEM, -errno of memfd_create /
 * ftruncate / fcntl / mmap.  On error nothing is left open. */
int shm_segment_create(const char *name, size_t size, int extra_seals,
                       int numa_node, struct shm_segment *out);

/* Maps a segment received from a peer.  Takes ownership of fd on success
 * and on failure (closes it).  Checks that fd carries at least
 * SHM_SEALS_REQUIRED (without F_SEAL_SEAL the peer could still add or
 * remove nothing, but without SHRINK it could truncate: refused) and that
 * its size equals expected_size (0 = accept any nonzero size).
 * prot is PROT_READ or PROT_READ|PROT_WRITE.
 * Errors: -EPROTO (seals missing or size differs: the peer is not a
 * conforming lsmd), -errno of fstat / fcntl / mmap. */
int shm_segment_map(int fd, size_t expected_size, int prot,
                    struct shm_segment *out);

/* The seals on fd (F_GET_SEALS), or -errno. */
int shm_segment_seals(int fd);

/* Adds seals to a segment created here (e.g. F_SEAL_FUTURE_WRITE after the
 * writer has mapped it).  Errors: -EPERM (already F_SEAL_SEAL'ed), -errno. */
int shm_segment_add_seals(struct shm_segment *s, int seals);

/* Opens a second, read-only fd on the same memfd (via /proc/self/fd), the
 * one to hand to readers: they cannot mmap it PROT_WRITE.  Returns the fd
 * (caller closes) or -errno. */
int shm_segment_reopen_readonly(const struct shm_segment *s);

/* Unmaps and closes; safe on a zeroed or already-closed segment. */
void shm_segment_close(struct shm_segment *s);

#endif
