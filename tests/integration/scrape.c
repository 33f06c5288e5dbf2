/* scrape.c — see scrape.h. */
#include "helpers.h"

#include "scrape.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Reads fd to EOF into a malloc'd string; false on timeout. */
static bool read_all(int fd, char **out, int timeout_ms)
{
    size_t cap = 65536, used = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    double end = th_now() + timeout_ms / 1000.0;
    for (;;) {
        int left = (int)((end - th_now()) * 1000);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            free(buf);
            return false;
        }
        if (used + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t r = read(fd, buf + used, cap - 1 - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        used += (size_t)r;
    }
    buf[used] = '\0';
    *out = buf;
    return true;
}

int scrape_http(int port, const char *method, const char *path, char **head, char **body,
                int timeout_ms)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    char req[512];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n", method,
                     path, port);
    assert_true(write(s, req, (size_t)n) == n);
    char *all;
    bool ok = read_all(s, &all, timeout_ms);
    close(s);
    if (!ok)
        return -1;
    int status = -1;
    sscanf(all, "HTTP/1.%*d %d", &status);
    char *sep = strstr(all, "\r\n\r\n");
    if (head)
        *head = strndup(all, sep ? (size_t)(sep - all) : strlen(all));
    if (body)
        *body = strdup(sep ? sep + 4 : "");
    free(all);
    return status;
}

int scrape_daemon_port(const th_daemon *d)
{
    FILE *f = fopen(d->log, "r");
    assert_non_null(f);
    char line[512];
    int port = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "lsmd: metrics on http://127.0.0.1:%d/metrics", &port) == 1)
            break;
    fclose(f);
    if (port <= 0) {
        thd_dump_log(d);
        fail_msg("the daemon's log names no metrics address");
    }
    return port;
}

int scrape_run(const char *const *argv, const char *in_path, char **out, int timeout_ms)
{
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
        if (in < 0)
            _exit(97);
        dup2(in, 0);
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        execvp(argv[0], (char *const *)argv);
        _exit(98);
    }
    close(pfd[1]);
    bool ok = read_all(pfd[0], out, timeout_ms);
    close(pfd[0]);
    if (!ok) {
        kill(pid, SIGKILL);
        *out = strdup("(timed out)");
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool scrape_have(const char *name)
{
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : "/usr/bin:/bin");
    bool found = false;
    for (char *save, *dir = strtok_r(copy, ":", &save); dir && !found;
         dir = strtok_r(NULL, ":", &save)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        found = access(p, X_OK) == 0;
    }
    free(copy);
    return found;
}

double scrape_value(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    fail_msg("no sample %s in the metrics", name);
    return 0;
}

int scrape_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}
