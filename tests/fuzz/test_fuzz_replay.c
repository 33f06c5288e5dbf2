/*
 * test_fuzz_replay.c — every fuzz target replays its committed inputs:
 * tests/fuzz/corpus/<target>/ (the seeds) and tests/fuzz/regressions/<target>/
 * (every crash input found so far, kept after its fix) go through
 * $(B)/fuzz-replay/fuzz_<target>, the target's LLVMFuzzerTestOneInput
 * linked with replay_main.c instead of libFuzzer.  So `make test` (any
 * compiler, any SAN) re-checks each fixed crash and each seed.
 */
#include "helpers.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Runs the replay program of target over its corpus and regressions. */
static void replay(const char *target)
{
    char bin[1024], corpus[1024], regs[1024];
    snprintf(bin, sizeof bin, "%s/fuzz_%s", FUZZ_REPLAY_DIR, target);
    snprintf(corpus, sizeof corpus, "%s/corpus/%s", FUZZ_SRC_DIR, target);
    snprintf(regs, sizeof regs, "%s/regressions/%s", FUZZ_SRC_DIR, target);
    if (access(bin, X_OK) != 0)
        fail_msg("%s is missing: build it with make test", bin);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *argv[] = { bin, corpus, is_dir(regs) ? regs : NULL, NULL };
        execv(bin, argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("fuzz_%s failed on a committed input (%s %d): rerun %s %s %s", target,
                 WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), bin, corpus,
                 is_dir(regs) ? regs : "");
}

/* Every tests/fuzz/fuzz_X.c has a seeded corpus, and every corpus replays. */
static void test_replay_all(void **state)
{
    (void)state;
    DIR *d = opendir(FUZZ_SRC_DIR);
    assert_non_null(d);
    struct dirent *de;
    int targets = 0;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (strncmp(de->d_name, "fuzz_", 5) != 0 || n < 8 || strcmp(de->d_name + n - 2, ".c"))
            continue;
        char target[256], corpus[1024];
        snprintf(target, sizeof target, "%.*s", (int)(n - 7), de->d_name + 5);
        snprintf(corpus, sizeof corpus, "%s/corpus/%s", FUZZ_SRC_DIR, target);
        if (!is_dir(corpus))
            fail_msg("fuzz target %s has no seed corpus in %s", target, corpus);
        replay(target);
        targets++;
    }
    closedir(d);
    assert_true(targets >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
