/*
 * lsmd_fault.c — the test daemon lsmd-fault: lsmd (daemon/main.c, linked
 * unchanged) whose engine runs on the fault I/O backend (engine/io/io.h),
 * for integration tests that fail one I/O of a running daemon.  Built only
 * for the tests (tests/tests.mk): the link wraps lsm_open
 * (-Wl,--wrap=lsm_open), so the daemon's one lsm_open gets options.io = a
 * fault backend over the usual one (LSMD_IO / --io still choose it).
 *
 * Arming, from the test process: the environment variable
 * LSMD_FAULT_TRIGGER names a file; a thread of the daemon looks for it
 * every millisecond, reads "N ERR" from it, calls io_fault_arm(fault, N,
 * ERR, 0) (the Nth I/O operation from now fails with -ERR, once) and
 * removes the file, so the test knows the fault is armed once the file is
 * gone.  Write it under another name and rename it into place.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io/io.h"
#include "lsm.h"

int __real_lsm_open(const char *dir, const lsm_options *opt, lsm_db **out);
int __wrap_lsm_open(const char *dir, const lsm_options *opt, lsm_db **out);

static lsm_io *g_base, *g_fault;

static void *trigger_main(void *arg)
{
    const char *path = arg;
    for (;;) {
        FILE *f = fopen(path, "r");
        if (f) {
            unsigned long long n = 0;
            int err = 0;
            if (fscanf(f, "%llu %d", &n, &err) == 2)
                io_fault_arm(g_fault, n, err, 0);
            else
                fprintf(stderr, "lsmd-fault: %s: expected \"N ERR\"\n", path);
            fclose(f);
            unlink(path);
        }
        usleep(1000);
    }
    return NULL;
}

int __wrap_lsm_open(const char *dir, const lsm_options *opt, lsm_db **out)
{
    lsm_options o = *opt;
    int rc = io_new(o.io_backend, &g_base);
    if (rc == 0)
        rc = io_fault_new(g_base, &g_fault);
    if (rc) {
        fprintf(stderr, "lsmd-fault: cannot set up the fault backend: %d\n", rc);
        return rc;
    }
    o.io = g_fault;
    const char *trigger = getenv("LSMD_FAULT_TRIGGER");
    if (trigger) {
        pthread_t t;
        /* Runs until the process exits (the backends are never freed:
         * the engine uses them until lsm_close, at exit). */
        if (pthread_create(&t, NULL, trigger_main, (void *)trigger) == 0)
            pthread_detach(t);
    }
    return __real_lsm_open(dir, &o, out);
}
