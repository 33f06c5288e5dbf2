/* segment.c — sealed memfd segments (segment.h) and the segment layout
 * arithmetic (protocol.h: shm_layout_compute). */
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "protocol.h"

#ifndef MPOL_PREFERRED
#define MPOL_PREFERRED 1 /* <numaif.h>; kept local so libshm needs no libnuma */
#endif

static size_t page_round(size_t n)
{
    return (n + SHM_PAGE - 1) & ~(size_t)(SHM_PAGE - 1);
}

static void set_node(void *base, size_t size, int node)
{
    if (node < 0 || node >= 1024)
        return;
    unsigned long mask[1024 / (8 * sizeof(unsigned long))];
    memset(mask, 0, sizeof(mask));
    mask[node / (8 * sizeof(unsigned long))] = 1ul << (node % (8 * sizeof(unsigned long)));
    /* Best effort: ENOSYS (no NUMA), EINVAL (node offline) leave the
     * default policy, which is correct, only slower. */
    (void)syscall(SYS_mbind, base, size, MPOL_PREFERRED, mask,
                  (unsigned long)(8 * sizeof(mask)), 0u);
}

int shm_segment_create(const char *name, size_t size, int extra_seals,
                       int numa_node, struct shm_segment *out)
{
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    if (size == 0)
        return -EINVAL;
    size = page_round(size);
    int fd = memfd_create(name ? name : "lsmd-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    int rc;
    if (ftruncate(fd, (off_t)size) != 0)
        goto fail_errno;
    /* Seal before anyone else can see the fd: the size is final from here. */
    if (fcntl(fd, F_ADD_SEALS, SHM_SEALS_REQUIRED & ~F_SEAL_SEAL) != 0)
        goto fail_errno;
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        goto fail_errno;
    /* Extra seals such as F_SEAL_FUTURE_WRITE must come after our own
     * writable mapping exists; F_SEAL_SEAL goes last of all. */
    if (fcntl(fd, F_ADD_SEALS, extra_seals | F_SEAL_SEAL) != 0) {
        rc = -errno;
        munmap(base, size);
        close(fd);
        return rc;
    }
    set_node(base, size, numa_node);
    out->base = base;
    out->size = size;
    out->fd = fd;
    out->prot = PROT_READ | PROT_WRITE;
    return 0;
fail_errno:
    rc = -errno;
    close(fd);
    return rc;
}

int shm_segment_seals(int fd)
{
    int s = fcntl(fd, F_GET_SEALS);
    return s < 0 ? -errno : s;
}

int shm_segment_map(int fd, size_t expected_size, int prot, struct shm_segment *out)
{
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    int rc;
    int seals = shm_segment_seals(fd);
    if (seals < 0) {
        rc = seals == -EINVAL ? -EPROTO : seals; /* not a sealable file */
        goto fail;
    }
    if ((seals & SHM_SEALS_REQUIRED) != SHM_SEALS_REQUIRED) {
        rc = -EPROTO;
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto fail;
    }
    if (st.st_size <= 0 || (expected_size && (uint64_t)st.st_size != expected_size)) {
        rc = -EPROTO;
        goto fail;
    }
    void *base = mmap(NULL, (size_t)st.st_size, prot, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        rc = -errno;
        goto fail;
    }
    out->base = base;
    out->size = (size_t)st.st_size;
    out->fd = fd;
    out->prot = prot;
    return 0;
fail:
    close(fd);
    return rc;
}

int shm_segment_add_seals(struct shm_segment *s, int seals)
{
    return fcntl(s->fd, F_ADD_SEALS, seals) == 0 ? 0 : -errno;
}

int shm_segment_reopen_readonly(const struct shm_segment *s)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", s->fd);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

void shm_segment_close(struct shm_segment *s)
{
    /* A mapped segment always owns its fd; a zeroed struct (fd 0, base
     * NULL) owns nothing, so base decides. */
    if (s->base) {
        munmap(s->base, s->size);
        if (s->fd >= 0)
            close(s->fd);
    }
    s->base = NULL;
    s->size = 0;
    s->fd = -1;
}

/* ---- layout ------------------------------------------------------------- */

static uint32_t pow2_at_least(uint32_t n)
{
    uint32_t p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

int shm_layout_compute(uint32_t queue_depth, uint32_t slot_bytes,
                       uint32_t large_bytes, struct shm_layout *out)
{
    memset(out, 0, sizeof(*out));
    if (queue_depth < 1 || queue_depth > SHM_MAX_QUEUE_DEPTH ||
        slot_bytes < SHM_MIN_SLOT_BYTES || slot_bytes > SHM_MAX_SLOT_BYTES ||
        large_bytes < SHM_MIN_LARGE_BYTES || large_bytes > SHM_MAX_LARGE_BYTES)
        return -EINVAL;
    /* Page-multiple sizes keep every slot page aligned (no slot shares a
     * page, hence no cache line, with its neighbour). */
    slot_bytes = (uint32_t)page_round(slot_bytes);
    large_bytes = (uint32_t)page_round(large_bytes);
    out->queue_depth = queue_depth;
    out->nslots = SHM_SLOTS_PER_DEPTH * queue_depth;
    out->slot_bytes = slot_bytes;
    out->large_bytes = large_bytes;
    /* +1: the synchronous request (large region) may be in flight beside a
     * full queue of asynchronous ones; + spare for fire-and-forget ones. */
    out->sq_entries = out->cq_entries = pow2_at_least(queue_depth + 1 + SHM_SQ_SPARE);
    uint64_t off = SHM_HDR_BYTES;
    out->sq_off = (uint32_t)off;
    off += page_round((uint64_t)out->sq_entries * sizeof(struct shm_sqe));
    out->cq_off = (uint32_t)off;
    off += page_round((uint64_t)out->cq_entries * sizeof(struct shm_cqe));
    uint64_t arena = (uint64_t)out->nslots * slot_bytes + large_bytes;
    if (off + arena > UINT32_MAX)
        return -EINVAL;
    out->arena_off = (uint32_t)off;
    out->arena_bytes = (uint32_t)arena;
    out->large_off = out->nslots * slot_bytes;
    out->segment_bytes = off + arena;
    return 0;
}
