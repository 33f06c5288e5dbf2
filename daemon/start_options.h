/*
 * start_options.h — the engine options lsmd opens its database with.
 *
 * Precedence, lowest first (docs/operations.md, "Options"):
 *   1. the engine's defaults (lsm_options_init);
 *   2. DIR/OPTIONS, what the database last ran with: every option lsm_open
 *      used and every later `lsmctl set` (engine/lsm.h, "Persisted
 *      options"), so a restart with no flags keeps them;
 *   3. what this start gives: the config file and the flags.  Each given
 *      value that differs from the persisted one is logged (INFO), and
 *      the engine then persists it in turn.
 * A damaged OPTIONS file stops the start (the engine logs file, line and
 * why): guessing would open, say, a tiered tree as leveled and reshape it.
 *
 * Thread safety: main thread, at start.
 */
#ifndef LSMD_START_OPTIONS_H
#define LSMD_START_OPTIONS_H

#include "config.h"

/* Fills *out for lsm_open as above: c->engine, with every engine key not
 * given (c->engine_given) taken from DIR/OPTIONS when it has one.  Errors: LSM_ECORRUPT, LSM_EVERSION, -EINVAL (a bad
 * OPTIONS file: logged), -errno (cannot read it). */
int start_options(const daemon_config *c, lsm_options *out);

#endif
