/*
 * honest.h — the well-behaved client that every attack test runs alongside
 * the attack: it must keep succeeding, with exact values, and within
 * TH_HONEST_SLACK_MS of its usual latency.
 *
 * A test registers the role in its table with TH_HONEST_ROLE, starts the
 * client with th_honest_start (which also measures its usual latency),
 * and after each phase of the attack calls th_honest_expect: that fails
 * the test when the client saw any error, made no progress, or had an
 * operation slower than its usual worst case plus the slack.
 *
 * The client loops: put TAG-NNNN (unsynced), get it back, compare bytes.
 * Latency is per operation, from submit to completion.
 */
#ifndef LSMD_TEST_HONEST_H
#define LSMD_TEST_HONEST_H

#include "harness.h"

/* The allowed excess over the usual worst-case latency (ms); the
 * environment variable LSM_TEST_LATENCY_SLACK_MS overrides it
 * (scripts/run-tests.sh widens it under sanitizers, whose runs hunt
 * memory errors and races, not latency). */
#define TH_HONEST_SLACK_MS 100.0

/* Role "honest SOCKET TAG".  Commands on stdin: "count" replies
 * "ok OPS MAX_US" (MAX_US: the slowest operation since the last count) and
 * "stop" replies the same, then exits.  Any failed or wrong operation
 * replies "err ..." to the next command and exits 1. */
int th_role_honest(int argc, char **argv);
#define TH_HONEST_ROLE { "honest", th_role_honest }

typedef struct th_honest {
    th_child c;
    long ops;          /* operations done at the last check */
    double usual_ms;   /* worst latency seen before any attack */
} th_honest;

/* Spawns the client against d and measures its usual worst-case latency
 * over about 1 s. */
void th_honest_start(th_honest *h, const th_daemon *d, const char *tag);

/* Fails the test unless the client progressed since the last check,
 * without errors, and no operation took longer than usual_ms + slack.
 * Returns the slowest operation in this window (ms) for the test's
 * report. */
double th_honest_expect(th_honest *h, const char *phase);

/* Stops the client; it must exit 0. */
void th_honest_stop(th_honest *h);

#endif
