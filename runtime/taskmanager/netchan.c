/*
 * netchan.c - TCP channels between TaskManagers (see netchan.h).
 *
 * Layer: runtime/taskmanager.
 */
#include "runtime/taskmanager/netchan.h"

#include "lib/clock.h"

#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A peer that vanished (its pod deleted) answers nothing: without these a send, a receive or
 * a connect to it would hang for minutes. Keepalive probes notice a silent peer within about
 * 10 s; TCP_USER_TIMEOUT bounds unacknowledged data the same way. */
static void tune_data_socket(int fd)
{
    int one = 1, idle = 5, intvl = 1, cnt = 5;
    unsigned int user_timeout_ms = 10000;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof(user_timeout_ms));
}

/* 0, or -1 on error/EOF (*eof set when the peer closed before the first byte). */
static int read_all(int fd, void *buf, size_t len, bool *eof)
{
    uint8_t *p = buf;
    size_t got = 0;
    if (eof)
        *eof = false;
    while (got < len) {
        ssize_t r = recv(fd, p + got, len - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 && got == 0 && eof)
            *eof = true;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int send_frame(int fd, uint8_t kind, uint8_t flags, int64_t value, const void *payload,
                      uint32_t len)
{
    rt_frame_header h = {.kind = kind,
                         .flags = flags,
                         .value = value,
                         .len = len,
                         .checksum = rt_frame_checksum(payload, len)};
    uint8_t hb[RT_FRAME_HEADER];
    rt_frame_header_encode(&h, hb);
    if (write_all(fd, hb, sizeof(hb)))
        return -1;
    return len ? write_all(fd, payload, len) : 0;
}

/* --- inbound ----------------------------------------------------------------------------- */

typedef struct receiver {
    struct receiver *next;
    rt_net *n;
    int fd;
    char job_id[33];
    pthread_t thread;
    atomic_bool done;
    bool accepted;
    uint32_t attempt, chain, consumer, producer;
} receiver;

typedef struct target {
    char job_id[33]; /* "" when unused */
    uint32_t attempt;
    rt_exec *x;
    rt_net_fail_fn fail;
    void *ud;
} target;

static target *find_target(rt_net *n, const char *job_id);

struct rt_net {
    int lfd, port;
    pthread_t accept_thread;
    atomic_bool stopping;
    pthread_mutex_t mu;
    target targets[RT_NET_MAX_TARGETS];
    receiver *recv;
    /* counters */
    atomic_uint_fast64_t frames, bytes, rejected;
};

static void reject(receiver *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reject(receiver *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    atomic_fetch_add(&r->n->rejected, 1);
    log_warn("data connection rejected", "reason", msg);
    send_frame(r->fd, RT_FRAME_REJECT, 0, 0, msg, (uint32_t)strlen(msg));
}

/* Fails the attempt this receiver feeds when it is still the target and still running;
 * returns false when the attempt is already going away (the break is then expected). */
static bool fail_target(receiver *r, const weir_error *e)
{
    rt_net *n = r->n;
    pthread_mutex_lock(&n->mu);
    target *t = find_target(n, r->job_id);
    bool live = t && t->attempt == r->attempt && !rt_exec_failed(t->x, NULL);
    rt_net_fail_fn fail = live ? t->fail : NULL;
    void *ud = live ? t->ud : NULL;
    pthread_mutex_unlock(&n->mu);
    if (fail)
        fail(ud, e);
    return live;
}

/* True when the sender's column types are the ones this process compiled for the channel. */
static bool same_types(const rt_schema *s, const rt_frame_hello *h)
{
    if (!s || s->ncols != h->ncols)
        return false;
    for (uint32_t i = 0; i < h->ncols; i++)
        if ((uint8_t)rt_type_phys(s->types[i]) != h->phys[i])
            return false;
    return true;
}

static int handshake(receiver *r, rt_channel **chp, uint8_t *buf, size_t len)
{
    rt_net *n = r->n;
    rt_frame_hello h;
    weir_error e;
    if (rt_frame_hello_decode(buf, len, &h, &e)) {
        reject(r, "%s", e.msg);
        return -1;
    }
    pthread_mutex_lock(&n->mu);
    int verdict = 0; /* 0 accept, 1 retry, 2 reject */
    char why[256] = "";
    rt_channel *ch = NULL;
    target *t = find_target(n, h.job_id);
    if (!t || h.attempt > t->attempt)
        verdict = 1;
    else if (h.attempt < t->attempt) {
        verdict = 2;
        snprintf(why, sizeof(why), "attempt %u is stale (now %u)", h.attempt, t->attempt);
    } else if (!(ch = rt_exec_input(t->x, h.chain, h.consumer, h.producer))) {
        verdict = 2;
        snprintf(why, sizeof(why), "no local channel %u/%u<-%u", h.chain, h.consumer, h.producer);
    } else if (!same_types(rt_exec_input_schema(t->x, h.chain), &h)) {
        verdict = 2;
        snprintf(why, sizeof(why),
                 "channel %u/%u<-%u: column types differ from this TaskManager's plan", h.chain,
                 h.consumer, h.producer);
    } else {
        for (receiver *o = n->recv; o; o = o->next)
            if (o != r && o->accepted && !atomic_load(&o->done) && o->attempt == h.attempt &&
                strcmp(o->job_id, h.job_id) == 0 && o->chain == h.chain &&
                o->consumer == h.consumer && o->producer == h.producer) {
                verdict = 2;
                snprintf(why, sizeof(why), "channel %u/%u<-%u is already connected", h.chain,
                         h.consumer, h.producer);
            }
    }
    if (verdict == 0) {
        r->accepted = true;
        snprintf(r->job_id, sizeof(r->job_id), "%s", h.job_id);
        r->attempt = h.attempt;
        r->chain = h.chain;
        r->consumer = h.consumer;
        r->producer = h.producer;
    }
    pthread_mutex_unlock(&n->mu);
    if (verdict == 1) {
        send_frame(r->fd, RT_FRAME_RETRY, 0, 0, NULL, 0);
        return -1;
    }
    if (verdict == 2) {
        reject(r, "%s", why[0] ? why : "unknown job");
        return -1;
    }
    if (send_frame(r->fd, RT_FRAME_ACCEPT, 0, 0, NULL, 0))
        return -1;
    *chp = ch;
    return 0;
}

static void *receiver_main(void *arg)
{
    receiver *r = arg;
    rt_net *n = r->n;
    uint8_t *buf = NULL;
    size_t cap = 0;
    rt_channel *ch = NULL;
    weir_error e = {0};
    bool handshaken = false;
    for (;;) {
        uint8_t hb[RT_FRAME_HEADER];
        bool eof;
        if (read_all(r->fd, hb, sizeof(hb), &eof)) {
            if (handshaken && !atomic_load(&n->stopping))
                weir_error_set(&e, WEIR_ECLOSED,
                               "data connection for channel %u/%u<-%u closed before its end",
                               r->chain, r->consumer, r->producer);
            break;
        }
        rt_frame_header h;
        if (rt_frame_header_decode(hb, &h, &e))
            break;
        if (h.len > cap) {
            uint8_t *nb = realloc(buf, h.len);
            if (!nb) {
                weir_error_set(&e, WEIR_ENOMEM, "out of memory for a %u-byte frame", h.len);
                break;
            }
            buf = nb;
            cap = h.len;
        }
        if (h.len && read_all(r->fd, buf, h.len, NULL)) {
            weir_error_set(&e, WEIR_ECLOSED, "data connection closed inside a frame");
            break;
        }
        if (rt_frame_checksum(buf, h.len) != h.checksum) {
            weir_error_set(&e, WEIR_EPARSE, "frame checksum mismatch (%u bytes)", h.len);
            break;
        }
        atomic_fetch_add(&n->frames, 1);
        atomic_fetch_add(&n->bytes, RT_FRAME_HEADER + h.len);
        if (!handshaken) {
            if (h.kind != RT_FRAME_HELLO) {
                reject(r, "expected a hello frame, got kind %u", (unsigned)h.kind);
                goto out;
            }
            if (handshake(r, &ch, buf, h.len))
                goto out;
            handshaken = true;
            continue;
        }
        if (h.kind == RT_FRAME_BATCH) {
            rt_batch *b = rt_channel_acquire(ch);
            if (!b)
                goto out; /* the attempt is being torn down */
            if (rt_frame_batch_decode(buf, h.len, b, &e)) {
                b->n = 0;
                rt_channel_push_batch(ch, b);
                break;
            }
            rt_channel_push_batch(ch, b);
        } else if (h.kind == RT_FRAME_WATERMARK)
            rt_channel_push(ch, RT_MSG_WATERMARK, h.value, false);
        else if (h.kind == RT_FRAME_BARRIER)
            rt_channel_push(ch, RT_MSG_BARRIER, h.value, h.flags & 1);
        else if (h.kind == RT_FRAME_IDLE)
            rt_channel_push(ch, RT_MSG_IDLE, h.value, false);
        else if (h.kind == RT_FRAME_END) {
            rt_channel_push(ch, RT_MSG_END, h.value, false);
            goto out;
        } else {
            weir_error_set(&e, WEIR_EPARSE, "unexpected frame kind %u after the handshake",
                           (unsigned)h.kind);
            break;
        }
    }
    if (e.code) {
        char chn[64];
        snprintf(chn, sizeof(chn), "%u/%u<-%u", r->chain, r->consumer, r->producer);
        bool live = handshaken && fail_target(r, &e);
        if (live || !handshaken || e.code != WEIR_ECLOSED) {
            log_error("data connection failed", "channel", chn, "error", e.msg);
            atomic_fetch_add(&n->rejected, 1);
        } else
            log_debug("data connection closed with its attempt", "channel", chn);
    }
out:
    free(buf);
    shutdown(r->fd, SHUT_RDWR);
    atomic_store(&r->done, true);
    return NULL;
}

static target *find_target(rt_net *n, const char *job_id)
{
    for (int i = 0; i < RT_NET_MAX_TARGETS; i++)
        if (n->targets[i].x && strcmp(n->targets[i].job_id, job_id) == 0)
            return &n->targets[i];
    return NULL;
}

/* Joins and frees finished receivers, and (when `job` is set) those of that job after shutting
 * their sockets (`job` "" means every receiver). Called with n->mu held. */
static void reap_locked(rt_net *n, const char *job)
{
    receiver **pp = &n->recv;
    while (*pp) {
        receiver *r = *pp;
        bool all = job && (!*job || strcmp(r->job_id, job) == 0 || !r->accepted);
        if (all)
            shutdown(r->fd, SHUT_RDWR);
        if (all || atomic_load(&r->done)) {
            *pp = r->next;
            pthread_mutex_unlock(&n->mu);
            pthread_join(r->thread, NULL);
            pthread_mutex_lock(&n->mu);
            close(r->fd);
            free(r);
        } else
            pp = &r->next;
    }
}

static void *accept_main(void *arg)
{
    rt_net *n = arg;
    while (!atomic_load(&n->stopping)) {
        int fd = accept(n->lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (atomic_load(&n->stopping))
                break;
            clock_sleep_ms(10);
            continue;
        }
        tune_data_socket(fd);
        receiver *r = calloc(1, sizeof(*r));
        if (!r) {
            close(fd);
            continue;
        }
        r->n = n;
        r->fd = fd;
        pthread_mutex_lock(&n->mu);
        reap_locked(n, NULL);
        if (pthread_create(&r->thread, NULL, receiver_main, r)) {
            pthread_mutex_unlock(&n->mu);
            close(fd);
            free(r);
            continue;
        }
        r->next = n->recv;
        n->recv = r;
        pthread_mutex_unlock(&n->mu);
    }
    return NULL;
}

int rt_net_new(const char *bind_host, int port, rt_net **out, weir_error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    int gai = getaddrinfo(bind_host && *bind_host ? bind_host : NULL, ps, &hints, &ai);
    if (gai)
        return weir_error_set(err, WEIR_EINVAL, "data port: cannot resolve '%s': %s",
                              bind_host ? bind_host : "", gai_strerror(gai));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128)) {
        int en = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return weir_error_set(err, WEIR_EIO, "data port %d: %s", port, strerror(en));
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    rt_net *n = calloc(1, sizeof(*n));
    if (!n) {
        close(fd);
        return weir_error_set(err, WEIR_ENOMEM, "out of memory");
    }
    n->lfd = fd;
    n->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    pthread_mutex_init(&n->mu, NULL);
    if (pthread_create(&n->accept_thread, NULL, accept_main, n)) {
        close(fd);
        pthread_mutex_destroy(&n->mu);
        free(n);
        return weir_error_set(err, WEIR_ENOMEM, "cannot start a thread");
    }
    *out = n;
    return 0;
}

int rt_net_port(const rt_net *n)
{
    return n->port;
}

int rt_net_set_target(rt_net *n, const char *job_id, uint32_t attempt, rt_exec *x,
                      rt_net_fail_fn fail, void *ud)
{
    pthread_mutex_lock(&n->mu);
    target *t = find_target(n, job_id);
    for (int i = 0; !t && i < RT_NET_MAX_TARGETS; i++)
        if (!n->targets[i].x)
            t = &n->targets[i];
    if (t) {
        snprintf(t->job_id, sizeof(t->job_id), "%s", job_id);
        t->attempt = attempt;
        t->x = x;
        t->fail = fail;
        t->ud = ud;
    }
    pthread_mutex_unlock(&n->mu);
    return t ? 0 : WEIR_ETOOBIG;
}

void rt_net_clear_target(rt_net *n, const char *job_id)
{
    pthread_mutex_lock(&n->mu);
    target *t = find_target(n, job_id);
    if (t)
        memset(t, 0, sizeof(*t));
    reap_locked(n, job_id);
    pthread_mutex_unlock(&n->mu);
}

void rt_net_counts(rt_net *n, uint64_t *frames, uint64_t *bytes, uint64_t *rejected)
{
    *frames = atomic_load(&n->frames);
    *bytes = atomic_load(&n->bytes);
    *rejected = atomic_load(&n->rejected);
}

void rt_net_free(rt_net *n)
{
    if (!n)
        return;
    atomic_store(&n->stopping, true);
    shutdown(n->lfd, SHUT_RDWR);
    close(n->lfd);
    pthread_join(n->accept_thread, NULL);
    pthread_mutex_lock(&n->mu);
    reap_locked(n, "");
    pthread_mutex_unlock(&n->mu);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

/* --- outbound ---------------------------------------------------------------------------- */

struct rt_net_out {
    char host[256];
    int port;
    rt_frame_hello hello;
    int64_t connect_timeout_ms;
    rt_net_fail_fn fail;
    void *ud;
    rt_inbox *ib;
    rt_channel *ch;
    pthread_t thread;
    atomic_bool done, cancelled;
    atomic_uint_fast64_t bytes;
    atomic_int fd;
};

/* Connects within `timeout_ms`, giving up early once *cancelled is set: a connect to an address
 * whose host is gone (a deleted pod; its neighbour entry still cached) would otherwise block for
 * the kernel's SYN retries, about two minutes, and hold whoever joins this thread. */
static int dial(const char *host, int port, int64_t timeout_ms, atomic_bool *cancelled)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    if (getaddrinfo(host, ps, &hints, &ai))
        return -1;
    int fd = -1;
    int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        bool ok = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
        while (!ok && errno == EINPROGRESS && !atomic_load(cancelled)) {
            int64_t left = deadline - clock_mono_ms();
            if (left <= 0)
                break;
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int pr = poll(&pfd, 1, (int)(left < 100 ? left : 100));
            if (pr < 0 && errno != EINTR)
                break;
            if (pr > 0) {
                int soerr = 0;
                socklen_t sl = sizeof(soerr);
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
                ok = soerr == 0;
                errno = soerr;
                break;
            }
            errno = EINPROGRESS;
        }
        if (!ok) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd >= 0) {
        int fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        tune_data_socket(fd);
    }
    return fd;
}

/* Connects and completes the handshake; retries while the consumer is not ready. */
static int out_connect(rt_net_out *o, weir_error *e)
{
    uint8_t hello[60 + 256];
    size_t hl = rt_frame_hello_encode(&o->hello, hello);
    int64_t deadline = clock_mono_ms() + o->connect_timeout_ms;
    int64_t backoff = 20;
    while (!atomic_load(&o->cancelled)) {
        int64_t left = deadline - clock_mono_ms();
        int fd = dial(o->host, o->port, left < 2000 ? left : 2000, &o->cancelled);
        if (fd >= 0) {
            /* published, so that a cancel's shutdown() also ends a handshake in progress */
            atomic_store(&o->fd, fd);
            if (atomic_load(&o->cancelled))
                shutdown(fd, SHUT_RDWR);
            uint8_t hb[RT_FRAME_HEADER];
            rt_frame_header h;
            if (send_frame(fd, RT_FRAME_HELLO, 0, 0, hello, (uint32_t)hl) == 0 &&
                read_all(fd, hb, sizeof(hb), NULL) == 0 && rt_frame_header_decode(hb, &h, e) == 0) {
                if (h.kind == RT_FRAME_ACCEPT)
                    return 0;
                if (h.kind == RT_FRAME_REJECT) {
                    char msg[512] = "";
                    size_t l = h.len < sizeof(msg) - 1 ? h.len : sizeof(msg) - 1;
                    if (l)
                        read_all(fd, msg, l, NULL);
                    atomic_store(&o->fd, -1);
                    close(fd);
                    return weir_error_set(e, WEIR_EINVAL, "%s:%d rejected the channel: %s", o->host,
                                          o->port, msg);
                }
            }
            atomic_store(&o->fd, -1);
            close(fd);
        }
        if (clock_mono_ms() > deadline)
            return weir_error_set(e, WEIR_ECONNECT,
                                  "cannot open the data channel to %s:%d within %lld ms", o->host,
                                  o->port, (long long)o->connect_timeout_ms);
        clock_sleep_ms(backoff);
        if (backoff < 500)
            backoff *= 2;
    }
    return weir_error_set(e, WEIR_ECANCELED, "cancelled");
}

static void *sender_main(void *arg)
{
    rt_net_out *o = arg;
    weir_error e = {0};
    uint8_t *buf = NULL;
    size_t cap = 0;
    if (out_connect(o, &e))
        goto out;
    for (;;) {
        rt_msg m;
        int which;
        if (!rt_inbox_pop(o->ib, &o->ch, 1, NULL, 0, &m, &which))
            goto out; /* cancelled */
        int rc = 0;
        switch (m.kind) {
        case RT_MSG_BATCH: {
            size_t need = rt_frame_batch_size(m.batch);
            if (need > RT_FRAME_MAX_PAYLOAD) {
                weir_error_set(&e, WEIR_ETOOBIG, "a batch of %zu bytes exceeds the frame limit",
                               need);
                rt_channel_release(o->ch, m.batch);
                goto out;
            }
            if (need > cap) {
                uint8_t *nb = realloc(buf, need);
                if (!nb) {
                    weir_error_set(&e, WEIR_ENOMEM, "out of memory");
                    rt_channel_release(o->ch, m.batch);
                    goto out;
                }
                buf = nb;
                cap = need;
            }
            size_t len = rt_frame_batch_encode(m.batch, buf);
            rt_channel_release(o->ch, m.batch);
            rc = send_frame(o->fd, RT_FRAME_BATCH, 0, 0, buf, (uint32_t)len);
            atomic_fetch_add(&o->bytes, RT_FRAME_HEADER + len);
            break;
        }
        case RT_MSG_WATERMARK:
            rc = send_frame(o->fd, RT_FRAME_WATERMARK, 0, m.value, NULL, 0);
            break;
        case RT_MSG_BARRIER:
            rc = send_frame(o->fd, RT_FRAME_BARRIER, m.savepoint ? 1 : 0, m.value, NULL, 0);
            break;
        case RT_MSG_IDLE:
            rc = send_frame(o->fd, RT_FRAME_IDLE, 0, m.value, NULL, 0);
            break;
        case RT_MSG_END:
            rc = send_frame(o->fd, RT_FRAME_END, 0, m.value, NULL, 0);
            if (!rc) {
                /* Wait for the receiver to close: everything before END was read. */
                shutdown(o->fd, SHUT_WR);
                char tmp[64];
                while (recv(o->fd, tmp, sizeof(tmp), 0) > 0) {
                }
                goto out;
            }
            break;
        }
        if (rc) {
            weir_error_set(&e, WEIR_ECLOSED, "data channel to %s:%d broke: %s", o->host, o->port,
                           strerror(errno));
            goto out;
        }
    }
out:
    if (e.code && e.code != WEIR_ECANCELED && !atomic_load(&o->cancelled)) {
        log_error("data channel failed", "error", e.msg);
        if (o->fail)
            o->fail(o->ud, &e);
    }
    free(buf);
    if (o->fd >= 0)
        shutdown(o->fd, SHUT_RDWR);
    /* Nobody reads the channel any more: a producer still writing must not block forever. */
    rt_inbox_cancel(o->ib);
    atomic_store(&o->done, true);
    return NULL;
}

rt_net_out *rt_net_out_new(const char *host, int port, const rt_frame_hello *hello,
                           const rt_schema *schema, int64_t connect_timeout_ms, rt_net_fail_fn fail,
                           void *ud)
{
    rt_net_out *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    snprintf(o->host, sizeof(o->host), "%s", host);
    o->port = port;
    o->hello = *hello;
    o->connect_timeout_ms = connect_timeout_ms;
    o->fail = fail;
    o->ud = ud;
    o->fd = -1;
    if (!(o->ib = rt_inbox_new()) ||
        !(o->ch = rt_channel_new(o->ib, schema->types, schema->ncols, 4, 0)) ||
        pthread_create(&o->thread, NULL, sender_main, o)) {
        rt_channel_free(o->ch);
        rt_inbox_free(o->ib);
        free(o);
        return NULL;
    }
    return o;
}

rt_channel *rt_net_out_channel(rt_net_out *o)
{
    return o->ch;
}

bool rt_net_out_done(rt_net_out *o)
{
    return atomic_load(&o->done);
}

uint64_t rt_net_out_bytes(rt_net_out *o)
{
    return atomic_load(&o->bytes);
}

void rt_net_out_cancel(rt_net_out *o)
{
    atomic_store(&o->cancelled, true);
    rt_inbox_cancel(o->ib);
    if (o->fd >= 0)
        shutdown(o->fd, SHUT_RDWR);
}

void rt_net_out_free(rt_net_out *o)
{
    if (!o)
        return;
    if (!atomic_load(&o->done))
        rt_net_out_cancel(o);
    pthread_join(o->thread, NULL);
    if (o->fd >= 0)
        close(o->fd);
    rt_channel_free(o->ch);
    rt_inbox_free(o->ib);
    free(o);
}
