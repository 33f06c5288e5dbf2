/*
 * wait.h — waiting for the peer across processes: a bounded spin, then a
 * sleep on a futex word in shared memory; and the matching wake that
 * makes a system call only when the peer announced that it sleeps.
 *
 * The protocol for one direction (sleeper S waits for "ready", e.g. a
 * non-empty ring; waker W makes it ready):
 *
 *   S: spin up to spin_ns checking ready();
 *      store word = 1;  FENCE(seq_cst) [A];  if ready(): store 0, done;
 *      futex_wait(word, 1, slice);  store word = 0;  loop
 *   W: publish (store-release of the ring index);  FENCE(seq_cst) [B];
 *      if word != 0 and exchange(word, 0) == 1: futex_wake(word)
 *
 * Fences A and B pair with each other (a store-buffer / Dekker pattern):
 * either S's re-check sees W's publication, or W sees S's word == 1 and
 * wakes it.  futex_wait only sleeps while word is still 1, so a wake that
 * happens between S's re-check and its futex_wait call is not lost (the
 * exchange to 0 makes futex_wait return at once).
 *
 * Sleeps are sliced (slice_ns): after each slice the sleeper calls check(),
 * which lets a client notice that the daemon died (socket hang-up,
 * daemon_gone) instead of sleeping forever, and lets the daemon notice
 * shutdown.  Futexes are shared (not FUTEX_PRIVATE): the words live in a
 * MAP_SHARED memfd mapping.
 *
 * Errors are 0 or negative.  Thread safety: any thread; a given word has
 * one sleeper at a time.
 */
#ifndef LSM_SHM_WAIT_H
#define LSM_SHM_WAIT_H

#include <stdbool.h>
#include <stdint.h>

/* Defaults: a client spins this long before it sleeps (the daemon's spin
 * comes from its config).  A busy-polled round trip is far shorter than a
 * futex wake, so a short spin keeps queue-depth-1 latency at the
 * busy-poll figure (figures: docs/tuning.md, "The service"). */
#define SHM_DEFAULT_SPIN_NS 50000u
#define SHM_DEFAULT_SLICE_NS 50000000u /* 50 ms between liveness checks */

/* ready(ctx): the condition waited for.  check(ctx): called after every
 * sleep slice (and before the first sleep); a negative return aborts the
 * wait with that code. */
typedef bool (*shm_ready_fn)(void *ctx);
typedef int (*shm_check_fn)(void *ctx);

struct shm_wait_policy {
    uint64_t spin_ns;       /* 0 = sleep at once */
    uint64_t slice_ns;      /* 0 = SHM_DEFAULT_SLICE_NS */
    uint64_t timeout_ns;    /* 0 = no overall timeout (return -ETIMEDOUT) */
    shm_check_fn check;     /* may be NULL */
    void *check_ctx;
};

/* Waits until ready(ctx) using *word as the "I sleep" futex word.
 * Returns 0 when ready, -ETIMEDOUT after timeout_ns, or check()'s error.
 * Counters (optional, may be NULL): incremented by the number of futex
 * sleeps taken, so callers can report how often they slept. */
int shm_wait(uint32_t *word, shm_ready_fn ready, void *ctx,
             const struct shm_wait_policy *p, uint64_t *sleeps);

/* The waker's side, called after the publication (store-release):
 * FENCE(seq_cst) [B], then wakes the peer if it announced sleep.  Returns
 * true if a futex wake was issued. */
bool shm_wake(uint32_t *word);

/* ---- Lower-level pieces (the daemon's multi-client wait) ---------------- */

/* Announce sleep: store word = 1 then FENCE(seq_cst) [A].  The caller then
 * re-checks its condition (e.g. shm_ring_empty) and, if still not ready,
 * sleeps with shm_futex_wait/_waitv(word, 1).  Pairs with shm_wake's [B]. */
void shm_sleep_announce(uint32_t *word);
/* Withdraw the announcement (store word = 0), after waking or when the
 * re-check found work. */
void shm_sleep_cancel(uint32_t *word);

/* futex(FUTEX_WAIT) on a shared word: sleeps while *word == expected, at
 * most timeout_ns (0 = forever).  Returns 0 (woken, or *word != expected:
 * the caller re-checks either way), -ETIMEDOUT, -EINTR. */
int shm_futex_wait(uint32_t *word, uint32_t expected, uint64_t timeout_ns);
/* Wakes up to n sleepers of word; returns how many woke or -errno. */
int shm_futex_wake(uint32_t *word, int n);

/* futex_waitv (Linux 5.16): sleeps until any words[i] != expected[i] or a
 * wake on any of them, at most timeout_ns (0 = forever).  private_mask bit
 * i set means words[i] is process-private (e.g. a worker's own kick word).
 * n <= SHM_WAITV_MAX.  Returns the index of a woken word, or 0 when a word
 * already differed (the caller re-checks all), -ETIMEDOUT, -EINTR, or
 * -ENOSYS on kernels without futex_waitv (then wait on one word with a
 * short timeout and poll the others). */
#define SHM_WAITV_MAX 128
int shm_futex_waitv(uint32_t *const words[], const uint32_t expected[], int n,
                    uint64_t private_mask_lo64, uint64_t timeout_ns);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t shm_now_ns(void);

/* One iteration of a polite busy-wait (PAUSE on x86). */
static inline void shm_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

#endif
