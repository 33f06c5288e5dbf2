/* directory.c — the read-only snapshot directory segment (directory.h). */
#include "directory.h"
#include "wait.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

int shm_dir_create(uint32_t capacity, struct shm_dir *out)
{
    memset(out, 0, sizeof(*out));
    out->seg.fd = -1;
    if (capacity == 0)
        capacity = SHM_DIR_DEFAULT_CAPACITY;
    if (capacity > SHM_DIR_MAX_CAPACITY)
        return -EINVAL;
    /* FUTURE_WRITE is added after our writable mapping exists: from then on
     * nobody (a client given an O_RDWR fd by mistake included) can map or
     * write() it, while our mapping keeps working. */
    int rc = shm_segment_create("lsmd-directory", shm_dir_bytes(capacity),
                                F_SEAL_FUTURE_WRITE, -1, &out->seg);
    if (rc)
        return rc;
    out->hdr = out->seg.base;
    out->table = (struct shm_dir_entry *)((char *)out->seg.base + SHM_DIR_TABLE_OFF);
    out->capacity = capacity;
    /* Nobody can see the segment yet: plain stores. */
    out->hdr->magic = SHM_DIR_MAGIC;
    out->hdr->version = SHM_PROTO_VERSION;
    out->hdr->capacity = capacity;
    out->hdr->entry_size = sizeof(struct shm_dir_entry);
    out->hdr->daemon_pid = (uint32_t)getpid();
    return 0;
}

int shm_dir_reader_fd(const struct shm_dir *d)
{
    return shm_segment_reopen_readonly(&d->seg);
}

void shm_dir_write_begin(struct shm_dir *d)
{
    uint64_t s = __atomic_load_n(&d->hdr->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&d->hdr->seq, s + 1, __ATOMIC_RELAXED); /* odd: writing */
    /* Release fence: the odd seq is ordered before every entry store that
     * follows; pairs with the reader's acquire fence before its second seq
     * load in shm_dir_read. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

void shm_dir_store(struct shm_dir *d, uint32_t i, const struct shm_dir_entry *e)
{
    /* Plain copy: ordered by the fences of begin/end. */
    memcpy(&d->table[i], e, sizeof(*e));
}

void shm_dir_write_end(struct shm_dir *d, uint32_t count)
{
    __atomic_store_n(&d->hdr->count, count, __ATOMIC_RELAXED);
    __atomic_store_n(&d->hdr->generation, d->hdr->generation + 1, __ATOMIC_RELAXED);
    uint64_t s = __atomic_load_n(&d->hdr->seq, __ATOMIC_RELAXED);
    /* Release: every store since begin is visible before the even seq;
     * pairs with the reader's first (acquire) seq load. */
    __atomic_store_n(&d->hdr->seq, s + 1, __ATOMIC_RELEASE);
}

void shm_dir_publish(struct shm_dir *d, const struct shm_dir_entry *e, uint32_t n)
{
    shm_dir_write_begin(d);
    for (uint32_t i = 0; i < n; i++)
        shm_dir_store(d, i, &e[i]);
    shm_dir_write_end(d, n);
}

int shm_dir_map(int fd, struct shm_dir *out)
{
    memset(out, 0, sizeof(*out));
    out->seg.fd = -1;
    int rc = shm_segment_map(fd, 0, PROT_READ, &out->seg);
    if (rc)
        return rc;
    const struct shm_dir_header *h = out->seg.base;
    if (out->seg.size < SHM_DIR_TABLE_OFF || h->magic != SHM_DIR_MAGIC ||
        h->version != SHM_PROTO_VERSION || h->entry_size != sizeof(struct shm_dir_entry) ||
        h->capacity == 0 || h->capacity > SHM_DIR_MAX_CAPACITY ||
        shm_dir_bytes(h->capacity) > out->seg.size) {
        shm_segment_close(&out->seg);
        return -EPROTO;
    }
    out->hdr = out->seg.base;
    out->table = (struct shm_dir_entry *)((char *)out->seg.base + SHM_DIR_TABLE_OFF);
    out->capacity = h->capacity;
    return 0;
}

int shm_dir_read(const struct shm_dir *d, struct shm_dir_entry *out,
                 uint32_t cap, uint32_t *n, uint64_t *generation)
{
    for (int attempt = 0; attempt < 10000; attempt++) {
        /* [R1] acquire: pairs with write_end's release of the even seq. */
        uint64_t s1 = __atomic_load_n(&d->hdr->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            shm_cpu_relax();
            continue;
        }
        uint32_t count = __atomic_load_n(&d->hdr->count, __ATOMIC_RELAXED);
        uint64_t gen = __atomic_load_n(&d->hdr->generation, __ATOMIC_RELAXED);
        if (count > d->capacity)
            count = d->capacity; /* torn or hostile: the seq check decides */
        uint32_t live = 0;
        for (uint32_t i = 0; i < count; i++) {
            struct shm_dir_entry e;
            memcpy(&e, &d->table[i], sizeof(e));
            if (!(e.flags & SHM_DIR_LIVE))
                continue;
            if (live < cap)
                out[live] = e;
            live++;
        }
        /* Acquire fence + [R2]: pairs with write_begin's release fence; if
         * any byte copied above came from a write that began after R1, R2
         * sees its odd/newer seq and the copy is thrown away. */
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint64_t s2 = __atomic_load_n(&d->hdr->seq, __ATOMIC_RELAXED);
        if (s1 == s2) {
            *n = live;
            if (generation)
                *generation = gen;
            return 0;
        }
    }
    return -EAGAIN;
}

void shm_dir_close(struct shm_dir *d)
{
    shm_segment_close(&d->seg);
    d->hdr = NULL;
    d->table = NULL;
}
