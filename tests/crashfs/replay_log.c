/*
 * replay-log — lists a dm-log-writes log and replays it onto a device or
 * image file up to an entry (log_writes.h).  For make test-crashfs.
 *
 *   replay-log --log LOG --list              every entry, one per line
 *   replay-log --log LOG --points            the replay points (flush, FUA,
 *                                            mark), one per line
 *   replay-log --log LOG --replay TARGET --upto N [--from M]
 *   replay-log --log LOG --replay TARGET --upto-mark NAME [--from M]
 *       writes entries M..N (M = 0 by default) onto TARGET: replaying a log
 *       in steps (--from the entry after the last step) gives the same
 *       image as one replay up to N.
 *
 * Exit status: 0, 1 on a bad log or an I/O error (the message names the
 * entry), 2 on a bad command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log_writes.h"

static void usage(void)
{
    fputs("usage: replay-log --log LOG (--list | --points |\n"
          "                  --replay TARGET (--upto N | --upto-mark NAME) [--from M])\n",
          stderr);
    exit(2);
}

static uint64_t number(const char *flag, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') {
        fprintf(stderr, "replay-log: %s wants a number, not \"%s\"\n", flag, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *log = NULL, *target = NULL, *mark = NULL;
    bool list = false, points = false, have_upto = false;
    uint64_t upto = 0, from = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (strcmp(a, "--list") == 0)
            list = true;
        else if (strcmp(a, "--points") == 0)
            points = true;
        else if (strcmp(a, "--log") == 0 && more)
            log = argv[++i];
        else if (strcmp(a, "--replay") == 0 && more)
            target = argv[++i];
        else if (strcmp(a, "--upto") == 0 && more) {
            upto = number(a, argv[++i]);
            have_upto = true;
        } else if (strcmp(a, "--upto-mark") == 0 && more)
            mark = argv[++i];
        else if (strcmp(a, "--from") == 0 && more)
            from = number(a, argv[++i]);
        else
            usage();
    }
    if (!log || (list + points + (target != NULL)) != 1 ||
        (target && have_upto == (mark != NULL)) || (!target && (have_upto || mark)))
        usage();
    char why[256] = "";
    lw_log *lw;
    if (lw_open(log, &lw, why, sizeof why)) {
        fprintf(stderr, "replay-log: %s\n", why);
        return 1;
    }
    int fd = -1;
    uint64_t dev_bytes = 0;
    if (target) {
        fd = open(target, O_WRONLY | O_CLOEXEC);
        int rc = fd < 0 ? -errno : lw_device_bytes(fd, &dev_bytes);
        if (rc) {
            fprintf(stderr, "replay-log: %s: %s\n", target, strerror(-rc));
            lw_close(lw);
            return 1;
        }
    }
    lw_entry e;
    int rc;
    bool reached = false;
    while (!reached && (rc = lw_next(lw, &e, why, sizeof why)) == 1) {
        if (list || (points && lw_is_point(&e)))
            lw_print(stdout, &e);
        if (!target)
            continue;
        if (e.index >= from && (rc = lw_apply(lw, &e, fd, dev_bytes, why, sizeof why)) != 0)
            break;
        reached = have_upto ? e.index >= upto : ((e.flags & LW_MARK) && strcmp(e.mark, mark) == 0);
    }
    if (rc == 0 && target && !reached) {
        rc = -ENOENT;
        if (have_upto)
            snprintf(why, sizeof why, "the log has %llu entries; no entry %llu",
                     (unsigned long long)lw_nr_entries(lw), (unsigned long long)upto);
        else
            snprintf(why, sizeof why, "no mark \"%s\" in the log", mark);
    }
    if (fd >= 0 && rc >= 0 && fsync(fd) != 0) {
        rc = -errno;
        snprintf(why, sizeof why, "%s: fsync: %s", target, strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    lw_close(lw);
    if (rc < 0) {
        fprintf(stderr, "replay-log: %s\n", why);
        return 1;
    }
    return 0;
}
