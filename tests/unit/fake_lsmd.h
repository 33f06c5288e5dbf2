/*
 * fake_lsmd.h — a small fake lsmd for test_lsmd_client: a child process
 * that speaks the real protocol (socket handshake, segment, rings,
 * wait/wake, snapshot directory) over a sorted in-memory table instead of
 * the engine, one client at a time.  Some option names steer it (SET_OPTION
 * "noscan": refuse ITER_SCAN as an old daemon would; "shutdown": end the
 * session; "bad": refuse; see handle() in fake_lsmd.c).
 */
#ifndef LSM_TEST_FAKE_LSMD_H
#define LSM_TEST_FAKE_LSMD_H

#include <stdint.h>

#include "helpers.h"

/* cmocka setup and teardown: a fresh fake daemon (and temp directory) per
 * test; stop kills it if still running. */
int fake_lsmd_start(void **state);
int fake_lsmd_stop(void **state);

/* Its socket, and the temp directory that holds it. */
const char *fake_lsmd_socket(void);
const char *fake_lsmd_dir(void);

/* ITER_NEXT pages it has filled so far (shared memory: read from the test
 * process while the daemon works, e.g. inside a scan's callback). */
uint32_t fake_lsmd_nexts_served(void);

/* Sends sig to the daemon; SIGKILL also reaps it (stop then does nothing). */
void fake_lsmd_signal(int sig);

#endif
