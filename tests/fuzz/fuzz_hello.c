/*
 * fuzz_hello.c — the attach handshake's check (shm_hello_parse), the first
 * thing the daemon runs on bytes any local process may send, and the
 * socket path in front of it (shm_hello_server_recv).
 *
 * Input: [flags byte: low 2 bits = how many fds come with the message,
 * bits 2-7 = a short reason buffer's size][the message].
 * Properties, besides memory safety (the message sits in a buffer of
 * exactly its length, so ASan sees any read past it):
 *   - the answer is 0 or -EPROTO, with a non-empty NUL-terminated reason
 *     exactly when refused; the same on a second call (pure); a shorter
 *     reason buffer gets the same answer and a prefix of the reason;
 *   - an accepted hello is exactly 64 bytes without fds, with the magic,
 *     this version, size 64, flags 0 and zero reserved bytes, and is
 *     returned unchanged;
 *   - sent over a SOCK_SEQPACKET socketpair (with the fds, dup'd from
 *     /dev/null), shm_hello_server_recv gives the same answer and reason,
 *     closes every fd that came, and a refused sender reads the -EPROTO
 *     reply carrying the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzzkit.h"
#include "hello.h"
#include "protocol.h"

#define MAX_SOCKET_MSG 4096 /* larger messages are checked without the socket */

/* The lowest free descriptor: a leaked fd would take it. */
static int lowest_free_fd(void)
{
    int fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
    FK_CHECK(fd >= 0, "dup");
    close(fd);
    return fd;
}

static void check_accepted(const uint8_t *msg, size_t len, int nfds,
                           const struct shm_hello_req *r)
{
    FK_CHECK(len == sizeof *r && nfds == 0, "accepted %zu bytes with %d fds", len, nfds);
    FK_CHECK(r->magic == SHM_HELLO_REQ_MAGIC && r->version == SHM_PROTO_VERSION &&
                 r->size == sizeof *r && r->flags == 0, "accepted a bad header");
    for (size_t i = 0; i < sizeof r->reserved; i++)
        FK_CHECK(r->reserved[i] == 0, "reserved byte %zu", i);
    FK_CHECK(memcmp(msg, r, sizeof *r) == 0, "request differs from the message");
}

/* Sends msg with nfds fds and checks the daemon side answers as parse. */
static void check_socket(const uint8_t *msg, size_t len, int nfds, int rc, const char *why)
{
    int sv[2];
    FK_CHECK(socketpair(AF_UNIX, SHM_SOCK_TYPE | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    int fds[3];
    for (int i = 0; i < nfds; i++) {
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        FK_CHECK(fds[i] >= 0, "open");
    }
    FK_CHECK(shm_send_with_fds(sv[0], msg, len, fds, nfds) == 0, "send");
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    int free_before = lowest_free_fd();
    struct shm_hello_req req;
    char got[SHM_HELLO_WHY_BYTES];
    int src = shm_hello_server_recv(sv[1], &req, 1000, got, sizeof got);
    FK_CHECK(lowest_free_fd() == free_before, "server_recv leaked a received fd");
    FK_CHECK(src == rc && strcmp(got, why) == 0, "socket: %d '%s', parse: %d '%s'", src, got,
             rc, why);
    if (rc == 0) {
        FK_CHECK(memcmp(&req, msg, sizeof req) == 0, "socket request differs");
    } else {
        struct shm_hello_rep rep;
        memset(&rep, 0, sizeof rep);
        FK_CHECK(recv(sv[0], &rep, sizeof rep, MSG_DONTWAIT) == (ssize_t)sizeof rep,
                 "no refusal reply");
        FK_CHECK(rep.magic == SHM_HELLO_REP_MAGIC && rep.status == -EPROTO &&
                     strcmp(rep.message, why) == 0, "reply %d '%.96s'", rep.status,
                 rep.message);
    }
    close(sv[0]);
    close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fk_init();
    fk_in in = { data, size };
    uint8_t flags = fk_u8(&in);
    int nfds = flags & 3;
    size_t short_cap = flags >> 2; /* 0..63 */
    size_t len = in.n;
    uint8_t *msg = malloc(len ? len : 1); /* exact size */
    FK_CHECK(msg != NULL, "oom");
    memcpy(msg, in.p, len);

    struct shm_hello_req r, r2;
    char why[SHM_HELLO_WHY_BYTES], why2[SHM_HELLO_WHY_BYTES], shorter[64];
    int rc = shm_hello_parse(msg, len, nfds, &r, why, sizeof why);
    FK_CHECK(rc == 0 || rc == -EPROTO, "parse: %d", rc);
    FK_CHECK(memchr(why, '\0', sizeof why) != NULL, "reason not terminated");
    FK_CHECK((rc == 0) == (why[0] == '\0'), "reason '%s' with rc %d", why, rc);
    FK_CHECK(shm_hello_parse(msg, len, nfds, &r2, why2, sizeof why2) == rc &&
                 strcmp(why, why2) == 0, "not pure");
    memset(shorter, 0x5a, sizeof shorter);
    FK_CHECK(shm_hello_parse(msg, len, nfds, &r2, shorter, short_cap) == rc, "cap changes rc");
    if (short_cap > 0) {
        size_t n = strlen(shorter);
        FK_CHECK(n < short_cap && strncmp(shorter, why, n) == 0 &&
                     (n == short_cap - 1 || why[n] == '\0'), "short reason '%s' of '%s'",
                 shorter, why);
    }
    FK_CHECK(shorter[short_cap] == 0x5a, "wrote past the reason buffer");
    if (rc == 0)
        check_accepted(msg, len, nfds, &r);
    /* A zero-length message reads as a hang-up on a SEQPACKET socket. */
    if (len > 0 && len <= MAX_SOCKET_MSG)
        check_socket(msg, len, nfds, rc, why);
    free(msg);
    return 0;
}
