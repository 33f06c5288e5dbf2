/* start_options.c — see start_options.h. */
#include "start_options.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

/* Logs name = given overriding the persisted value when they differ;
 * given is normalized through the engine's parser first ("8M" equals
 * "8388608"). */
static void note_override(const lsm_options *persisted, const char *dir, const char *name,
                          const char *given)
{
    char had[64], want[64];
    lsm_options norm = *persisted;
    if (lsm_options_get(persisted, name, had, sizeof had) < 0 ||
        lsm_options_set(&norm, name, given) != 0 ||
        lsm_options_get(&norm, name, want, sizeof want) < 0 || strcmp(had, want) == 0)
        return;
    log_info("lsmd: option %s = %s given at this start overrides %s persisted in %s/OPTIONS",
             name, want, had, dir);
}

int start_options(const daemon_config *c, lsm_options *out)
{
    *out = c->engine;
    lsm_options merged = c->engine;
    int rc = lsm_options_load(c->dir, &merged);
    if (rc == -ENOENT)
        return 0; /* a new database, or one from before OPTIONS: nothing persisted */
    if (rc) {
        log_error("lsmd: %s/OPTIONS cannot be used: %s (see above).  Nothing was changed; "
                  "move the file aside to start from the defaults and the options given "
                  "(lsmd then writes a new one)",
                  c->dir, lsm_strerror(rc));
        return rc;
    }
    /* Every engine key given (open-time or runtime): back to the given
     * value.  A given compaction_style is in force from the open on, so
     * the persisted one never starts a compaction. */
    for (size_t i = 0; i < c->n_engine_given; i++) {
        const char *name = c->engine_given[i];
        char given[64];
        if (lsm_options_get(&c->engine, name, given, sizeof given) < 0)
            continue;
        note_override(&merged, c->dir, name, given);
        (void)lsm_options_set(&merged, name, given);
    }
    *out = merged;
    return 0;
}
