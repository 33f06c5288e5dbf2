/* wait.c — bounded spin, then futex sleep; wake only a declared sleeper
 * (wait.h has the protocol and the fence pairing). */
#include "wait.h"

#include <errno.h>
#include <linux/futex.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE 128 /* FUTEX_PRIVATE_FLAG */
#endif
#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

uint64_t shm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timespec ns_to_ts(uint64_t ns)
{
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
                           .tv_nsec = (long)(ns % 1000000000u) };
    return ts;
}

int shm_futex_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    struct timespec ts = ns_to_ts(timeout_ns);
    /* Shared futex (no FUTEX_PRIVATE_FLAG): the word is in a MAP_SHARED
     * mapping, the waker is another process.  The relative timeout is on
     * CLOCK_MONOTONIC. */
    long rc = syscall(SYS_futex, word, FUTEX_WAIT, expected,
                      timeout_ns ? &ts : NULL, NULL, 0);
    if (rc == 0)
        return 0;
    if (errno == EAGAIN)
        return 0; /* the word already changed: the caller re-checks */
    return -errno; /* ETIMEDOUT, EINTR */
}

int shm_futex_wake(uint32_t *word, int n)
{
    long rc = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
    return rc < 0 ? -errno : (int)rc;
}

int shm_futex_waitv(uint32_t *const words[], const uint32_t expected[], int n,
                    uint64_t private_mask_lo64, uint64_t timeout_ns)
{
    if (n <= 0 || n > SHM_WAITV_MAX)
        return -EINVAL;
    struct futex_waitv w[SHM_WAITV_MAX];
    for (int i = 0; i < n; i++) {
        w[i].val = expected[i];
        w[i].uaddr = (uint64_t)(uintptr_t)words[i];
        w[i].flags = FUTEX2_SIZE_U32 |
                     ((i < 64 && (private_mask_lo64 >> i) & 1) ? FUTEX2_PRIVATE : 0);
        w[i].__reserved = 0;
    }
    /* futex_waitv takes an absolute timeout on the given clock. */
    struct timespec abs;
    if (timeout_ns)
        abs = ns_to_ts(shm_now_ns() + timeout_ns);
    long rc = syscall(SYS_futex_waitv, w, (unsigned)n, 0u,
                      timeout_ns ? &abs : NULL, CLOCK_MONOTONIC);
    if (rc >= 0)
        return (int)rc;
    if (errno == EAGAIN)
        return 0; /* some word already differed */
    return -errno;
}

void shm_sleep_announce(uint32_t *word)
{
    __atomic_store_n(word, 1u, __ATOMIC_RELAXED);
    /* [A]: orders the store above before the caller's re-check load of the
     * peer's ring index; pairs with [B] in shm_wake.  Without it, x86 could
     * satisfy the re-check before the store leaves the store buffer, and
     * both sides would miss each other. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void shm_sleep_cancel(uint32_t *word)
{
    /* Relaxed: only saves the peer a useless wake syscall; correctness
     * never depends on it being seen. */
    __atomic_store_n(word, 0u, __ATOMIC_RELAXED);
}

bool shm_wake(uint32_t *word)
{
    /* [B]: orders the caller's publication (store-release of a ring index)
     * before the load of the peer's sleep word; pairs with [A] in
     * shm_sleep_announce. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(word, __ATOMIC_RELAXED) == 0)
        return false; /* awake (or spinning): it will see the publication */
    /* Exchange so that exactly one waker pays for the syscall, and so a
     * sleeper that has not yet entered futex_wait returns from it at once
     * (the word no longer equals 1). */
    if (__atomic_exchange_n(word, 0u, __ATOMIC_RELAXED) != 1u)
        return false;
    shm_futex_wake(word, 1);
    return true;
}

int shm_wait(uint32_t *word, shm_ready_fn ready, void *ctx,
             const struct shm_wait_policy *p, uint64_t *sleeps)
{
    if (ready(ctx))
        return 0;
    uint64_t start = shm_now_ns();
    uint64_t spin = p ? p->spin_ns : SHM_DEFAULT_SPIN_NS;
    uint64_t slice = p && p->slice_ns ? p->slice_ns : SHM_DEFAULT_SLICE_NS;
    uint64_t timeout = p ? p->timeout_ns : 0;
    shm_check_fn check = p ? p->check : NULL;
    void *cctx = p ? p->check_ctx : NULL;

    /* Spin: read the clock only every 64 rounds (it costs more than a
     * check of ready(); docs/architecture.md, "Where a request waits"). */
    if (spin) {
        for (unsigned i = 1;; i++) {
            shm_cpu_relax();
            if (ready(ctx))
                return 0;
            if ((i & 63) == 0 && shm_now_ns() - start >= spin)
                break;
        }
    }
    for (;;) {
        if (check) {
            int rc = check(cctx);
            if (rc < 0)
                return ready(ctx) ? 0 : rc; /* what already arrived counts */
        }
        uint64_t now = shm_now_ns();
        uint64_t this_slice = slice;
        if (timeout) {
            if (now - start >= timeout)
                return ready(ctx) ? 0 : -ETIMEDOUT;
            if (timeout - (now - start) < this_slice)
                this_slice = timeout - (now - start);
        }
        shm_sleep_announce(word); /* [A] */
        if (ready(ctx)) {
            shm_sleep_cancel(word);
            return 0;
        }
        if (sleeps)
            (*sleeps)++;
        /* Sleeps only while word is still 1: a wake between the re-check
         * and here set it to 0, so this returns at once. */
        shm_futex_wait(word, 1u, this_slice);
        shm_sleep_cancel(word);
        if (ready(ctx))
            return 0;
    }
}
