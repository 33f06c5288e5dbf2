/*
 * ring.h — a single-producer single-consumer ring of fixed-size entries in
 * shared memory (the submission and completion rings of a client segment).
 *
 * Layout: head and tail are free-running u32 indices living in the segment
 * header, each alone in its cache line (protocol.h); entry i is at
 * entries + (i & mask) * entry_size.  The producer writes only tail, the
 * consumer only head.  Each process keeps its own index in private memory
 * (`local`) and never reads its own index back from the segment, so a peer
 * scribbling on it cannot confuse it.
 *
 * Ordering (docs/shm-protocol.md, "Memory ordering"):
 *   - producer: write entries, then store-release tail; pairs with the
 *     consumer's load-acquire of tail, so entry bytes are visible before
 *     the index that publishes them;
 *   - consumer: read entries, then store-release head; pairs with the
 *     producer's load-acquire of head, so the producer never overwrites an
 *     entry still being read.
 *
 * Hostile peer: the peer's index is read from shared memory and can hold
 * anything.  shm_ring_space() and shm_ring_ready() return -EPROTO when it is
 * impossible (more entries ready than the ring holds, or head ahead of
 * tail); the caller then ends the session.
 *
 * Thread safety: one producer thread and one consumer thread per ring (in
 * any processes); a struct shm_ring is a private per-side view used by one
 * thread at a time.
 */
#ifndef LSM_SHM_RING_H
#define LSM_SHM_RING_H

#include <stdbool.h>
#include <stdint.h>

struct shm_ring {
    uint32_t *head;         /* shared: written by the consumer */
    uint32_t *tail;         /* shared: written by the producer */
    char *entries;          /* shared: entry array */
    uint32_t mask;          /* entries - 1 */
    uint32_t entry_size;
    uint32_t local;         /* producer: private tail; consumer: private head */
    uint32_t cached;        /* producer: last head seen; consumer: last tail seen */
};

/* Sets up a view.  n (entries) is a power of two.  producer selects which
 * index is ours: the view starts from the current shared value of our own
 * index (0 in a fresh segment) and of the peer's. */
void shm_ring_init(struct shm_ring *r, uint32_t *head, uint32_t *tail,
                   void *entries, uint32_t n, uint32_t entry_size, bool producer);

/* ---- producer ----------------------------------------------------------- */
/* Free entries (0 .. n) from a fresh load of head, or -EPROTO if the
 * consumer's head is impossible. */
int shm_ring_space(struct shm_ring *r);
/* As shm_ring_space, but answers from the last head seen when that already
 * shows at least want free entries (saves touching the consumer's cache
 * line); the result may then be an underestimate. */
int shm_ring_space_min(struct shm_ring *r, uint32_t want);
/* The i-th entry after the private tail; REQUIRES: i < shm_ring_space(). */
void *shm_ring_slot(struct shm_ring *r, uint32_t i);
/* Publishes count entries (store-release of tail). */
void shm_ring_publish(struct shm_ring *r, uint32_t count);

/* ---- consumer ----------------------------------------------------------- */
/* Entries ready to read (0 .. n), or -EPROTO if the producer's tail is
 * impossible. */
int shm_ring_ready(struct shm_ring *r);
/* The i-th ready entry; REQUIRES: i < shm_ring_ready().  Still shared
 * memory: copy it before trusting it. */
const void *shm_ring_peek(const struct shm_ring *r, uint32_t i);
/* Hands count entries back to the producer (store-release of head). */
void shm_ring_consume(struct shm_ring *r, uint32_t count);

/* True when the ring looks empty to the consumer right now (one acquire
 * load of tail); the sleeper's re-check after announcing sleep (wait.h). */
bool shm_ring_empty(const struct shm_ring *r);

#endif
