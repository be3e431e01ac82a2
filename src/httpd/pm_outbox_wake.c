/* pm_outbox_wake.c — the delivery worker's doorbell and its seat. Every child has a
 * watchdog thread; the one whose child holds an abstract Unix datagram socket named
 * after this httpd's parent process is the worker. The kernel frees the name the
 * moment that process dies, so another child takes the seat within HOLD_RETRY (no
 * file, no lock to clean up; graceful generations share the parent and so take
 * turns). A request that committed queued email sends the socket one byte. When the
 * socket's queue is full (net.unix.max_dgram_qlen, 10 by default) the byte is
 * dropped, harmlessly: the bytes waiting were sent after earlier commits, and the pass
 * their reading starts comes after this commit too. A byte lost otherwise (no worker
 * seated) costs at most one PortalOutboxInterval. Other servers on the same
 * PostgreSQL are not woken (they poll). */
#include "pm_outbox_wake.h"

#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

APLOG_USE_MODULE(portal_manager);

/* How often a child's watchdog thread tries to take the seat: the longest a dead
 * worker's child leaves the queue without a worker */
#define HOLD_RETRY apr_time_from_msec(200)

static int listen_fd = -1;         /* the watchdog thread's only */
static apr_time_t next_listen_try;  /* while the name is taken */

/* "\0portal-manager-wake-<parent pid>" (Linux's abstract namespace) */
static socklen_t wake_address(struct sockaddr_un *sa)
{
    int n;

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "portal-manager-wake-%ld",
                 (long)getppid());
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

void pm_outbox_wake(void)
{
    struct sockaddr_un sa;
    socklen_t len = wake_address(&sa);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    char one = 1;

    if (fd < 0) {
        return;
    }
    (void)sendto(fd, &one, 1, MSG_DONTWAIT, (struct sockaddr *)&sa, len);
    close(fd);
}

static int open_listener(server_rec *s)
{
    struct sockaddr_un sa;
    socklen_t len = wake_address(&sa);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sa, len) != 0) {
        if (errno != EADDRINUSE) {                /* taken: another child's worker */
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, PM_LOGNO(00543)
                         "delivery worker: cannot bind its socket; this child stays idle");
        }
        close(fd);
        return -1;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, PM_LOGNO(00545)
                 "delivery worker: this child (pid %ld) runs the delivery worker",
                 (long)getpid());
    return fd;
}

/* Read every byte waiting: one pass serves them all. */
static void drain(void)
{
    char buf[64];

    while (recv(listen_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
    }
}

int pm_outbox_wake_hold(server_rec *s)
{
    if (listen_fd < 0 && apr_time_now() >= next_listen_try) {
        listen_fd = open_listener(s);
        next_listen_try = apr_time_now() + HOLD_RETRY;
    }
    return listen_fd >= 0;
}

int pm_outbox_wake_wait(server_rec *s, apr_interval_time_t timeout)
{
    struct pollfd pfd;
    int ms = (int)apr_time_as_msec(timeout);

    if (listen_fd < 0) {
        apr_sleep(timeout);
        return 0;
    }
    pfd.fd = listen_fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, ms > 0 ? ms : 0) <= 0 || !(pfd.revents & POLLIN)) {
        return 0;
    }
    drain();
    return 1;
}

void pm_outbox_wake_close(void)
{
    if (listen_fd >= 0) {
        close(listen_fd);
        listen_fd = -1;
    }
}
