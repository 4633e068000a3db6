/*
 * The local balancer's native TCP relay (Linux): JavaScript accepts, picks a backend and connects,
 * then hands both connected sockets' file descriptors here, and one relay thread per Node
 * environment moves the bytes with epoll, recv/send and splice(2), so no byte and no per-chunk
 * callback reaches JavaScript. It reports once per connection, when the relay is over, through a
 * thread-safe function; JavaScript then closes both sockets (it owns the descriptors throughout:
 * nothing here ever closes them, so a number cannot be reused under the relay).
 *
 * Per direction, small reads go through one scratch buffer shared by every connection and are
 * sent at once; only what the destination does not take is copied aside (the source is not read
 * again until that is sent), so an idle connection holds no buffer. A read that fills the scratch
 * buffer means a bulk transfer: that direction switches to splice through a pipe of its own,
 * which moves pages from socket to socket without copying them through user space.
 *
 * A source's end is forwarded as shutdown(SHUT_WR) once everything before it is sent (half-close);
 * the relay is over when both ends are forwarded, on the first error either way, after the idle
 * timeout, or when JavaScript aborts it (shutdown of both sockets, which the thread then sees).
 *
 * Exports: start(clientFd, upstreamFd, idleMs, counters: Float64Array(2), done(reason, errno))
 * returning a handle, abort(handle). counters[0] is bytes sent client -> upstream, counters[1]
 * upstream -> client, updated as they move. reason: 0 ended, 1 error (errno), 2 idle.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One recv; a recv that fills it switches its direction to splice. */
#define SCRATCH (64 * 1024)
/* Reads per direction before the thread turns to other connections (fairness). */
#define READ_BUDGET 16
#define MAX_EVENTS 256

enum { DONE_END = 0, DONE_ERROR = 1, DONE_IDLE = 2 };

struct conn;

struct side {
  struct conn *conn;
  int fd;
  bool readable, writable, rdhup;
};

struct dir {
  struct side *from, *to;
  char *held; /* what the destination did not take, from held_off to held_len */
  size_t held_len, held_off;
  int pipe[2];
  size_t in_pipe;
  bool splice, eof, shut;
  double bytes;
  double *counter;
};

struct conn {
  struct side side[2]; /* client, upstream */
  struct dir dir[2];   /* client -> upstream, upstream -> client */
  int64_t idle_ms, last_ms;
  int reason, err;
  bool dead, in_again;
  struct conn *prev, *next;             /* live list, then the finished list */
  struct conn *again_prev, *again_next; /* connections whose read budget ran out */
  /* Main thread only. */
  napi_ref done, counters;
};

struct relay {
  napi_threadsafe_function tsfn;
  bool thread_started, tsfn_referenced;
  pthread_t thread;
  int epfd, wakefd;
  pthread_mutex_t lock;
  struct conn *incoming; /* under lock */
  bool stopping;         /* under lock */
  /* Relay thread only. */
  struct conn *live, *again, *finished;
  int64_t now, min_idle_ms;
  char *scratch;
  /* Main thread only. */
  uint32_t active;
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Stored whole: JavaScript may read a counter while this thread writes it. */
static void publish(struct dir *d) { __atomic_store(d->counter, &d->bytes, __ATOMIC_RELAXED); }

static void sent(struct conn *c, struct dir *d, ssize_t n) {
  d->bytes += (double)n;
  publish(d);
  (void)c;
}

static void again_remove(struct relay *r, struct conn *c) {
  if (!c->in_again) return;
  if (c->again_prev) c->again_prev->again_next = c->again_next;
  else r->again = c->again_next;
  if (c->again_next) c->again_next->again_prev = c->again_prev;
  c->in_again = false;
}

static void again_add(struct relay *r, struct conn *c) {
  if (c->in_again) return;
  c->again_prev = NULL;
  c->again_next = r->again;
  if (r->again) r->again->again_prev = c;
  r->again = c;
  c->in_again = true;
}

/* Over: out of epoll, off the lists, resources freed; reported after the current batch. */
static void finish(struct relay *r, struct conn *c, int reason, int err) {
  if (c->dead) return;
  c->dead = true;
  c->reason = reason;
  c->err = err;
  for (int i = 0; i < 2; i++) {
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->side[i].fd, NULL);
    struct dir *d = &c->dir[i];
    free(d->held);
    d->held = NULL;
    if (d->splice) {
      close(d->pipe[0]);
      close(d->pipe[1]);
    }
    publish(d);
  }
  again_remove(r, c);
  if (c->prev) c->prev->next = c->next;
  else r->live = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = NULL;
  c->next = r->finished;
  r->finished = c;
}

/* Moves what it can one way; returns 0 or an errno. Sets *more when the read budget ran out. */
static int move(struct relay *r, struct conn *c, struct dir *d, bool *more) {
  int reads = 0;
  for (;;) {
    if (d->held) {
      if (!d->to->writable) return 0;
      ssize_t n = send(d->to->fd, d->held + d->held_off, d->held_len - d->held_off,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return errno;
        d->to->writable = false;
        return 0;
      }
      sent(c, d, n);
      d->held_off += (size_t)n;
      if (d->held_off < d->held_len) {
        d->to->writable = false;
        return 0;
      }
      free(d->held);
      d->held = NULL;
    }
    if (d->in_pipe) {
      if (!d->to->writable) return 0;
      ssize_t n = splice(d->pipe[0], NULL, d->to->fd, NULL, d->in_pipe,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return errno;
        d->to->writable = false;
        return 0;
      }
      sent(c, d, n);
      d->in_pipe -= (size_t)n;
      if (d->in_pipe) {
        d->to->writable = false;
        return 0;
      }
    }
    /* Everything read so far is sent: forward the end, or read on. */
    if (d->eof) {
      if (!d->shut) {
        shutdown(d->to->fd, SHUT_WR); /* ENOTCONN after a reset: the error shows elsewhere */
        d->shut = true;
      }
      return 0;
    }
    if (!d->from->readable) return 0;
    if (reads++ == READ_BUDGET) {
      *more = true;
      return 0;
    }
    ssize_t n;
    if (d->splice) {
      n = splice(d->from->fd, NULL, d->pipe[1], NULL, SCRATCH, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    } else {
      n = recv(d->from->fd, r->scratch, SCRATCH, MSG_DONTWAIT);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return errno;
      d->from->readable = false;
      return 0;
    }
    if (n == 0) {
      d->eof = true;
      continue;
    }
    c->last_ms = r->now;
    /* A short recv: the kernel had no more. Unless the peer's end is known to be queued behind
     * it, the next edge will say when there is. A short splice proves nothing: it stops when
     * the pipe's 16 slots are full, one per segment queued, so a socket holding many small
     * segments answers a few KiB while more waits, and no edge would come for what already
     * arrived (a backend done sending stalled until the idle timeout). Only EAGAIN tells. */
    if (!d->splice && n < SCRATCH && !d->from->rdhup) d->from->readable = false;
    if (d->splice) {
      d->in_pipe = (size_t)n;
      continue;
    }
    ssize_t w = 0;
    if (d->to->writable) {
      w = send(d->to->fd, r->scratch, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0) {
        if (errno != EAGAIN && errno != EINTR) return errno;
        w = 0;
      }
      sent(c, d, w);
    }
    if (w < n) {
      d->to->writable = false;
      d->held_len = (size_t)(n - w);
      d->held_off = 0;
      d->held = malloc(d->held_len);
      if (!d->held) return ENOMEM;
      memcpy(d->held, r->scratch + w, d->held_len);
    }
    if (n == SCRATCH && pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) == 0) d->splice = true;
  }
}

static void pump(struct relay *r, struct conn *c) {
  if (c->dead) return;
  bool more = false;
  for (int i = 0; i < 2; i++) {
    int err = move(r, c, &c->dir[i], &more);
    if (err) return finish(r, c, DONE_ERROR, err);
  }
  struct dir *a = &c->dir[0], *b = &c->dir[1];
  if (a->shut && b->shut) return finish(r, c, DONE_END, 0);
  if (more) again_add(r, c);
}

static void admit(struct relay *r) {
  pthread_mutex_lock(&r->lock);
  struct conn *c = r->incoming;
  r->incoming = NULL;
  pthread_mutex_unlock(&r->lock);
  while (c) {
    struct conn *next = c->next;
    c->prev = NULL;
    c->next = r->live;
    if (r->live) r->live->prev = c;
    r->live = c;
    c->last_ms = r->now;
    if (c->idle_ms < r->min_idle_ms) r->min_idle_ms = c->idle_ms;
    int err = 0;
    for (int i = 0; i < 2; i++) {
      struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                               .data.ptr = &c->side[i]};
      if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->side[i].fd, &ev) < 0) err = errno;
    }
    if (err) finish(r, c, DONE_ERROR, err);
    else pump(r, c);
    c = next;
  }
}

static void sweep(struct relay *r) {
  for (struct conn *c = r->live, *next; c; c = next) {
    next = c->next;
    if (r->now - c->last_ms >= c->idle_ms) finish(r, c, DONE_IDLE, 0);
  }
}

static void report(struct relay *r) {
  while (r->finished) {
    struct conn *c = r->finished;
    r->finished = c->next;
    napi_call_threadsafe_function(r->tsfn, c, napi_tsfn_nonblocking);
  }
}

static void *run(void *arg) {
  struct relay *r = arg;
  struct epoll_event events[MAX_EVENTS];
  int64_t last_sweep = now_ms();
  for (;;) {
    int64_t period = r->min_idle_ms / 8;
    if (period < 5) period = 5;
    if (period > 1000) period = 1000;
    int timeout = r->again ? 0 : r->live ? (int)period : -1;
    int n = epoll_wait(r->epfd, events, MAX_EVENTS, timeout);
    r->now = now_ms();
    for (int i = 0; i < n; i++) {
      struct side *s = events[i].data.ptr;
      if (!s) {
        uint64_t count;
        if (read(r->wakefd, &count, sizeof count) < 0) { /* nothing to take */
        }
        pthread_mutex_lock(&r->lock);
        bool stopping = r->stopping;
        pthread_mutex_unlock(&r->lock);
        if (stopping) return NULL;
        admit(r);
        continue;
      }
      uint32_t e = events[i].events;
      if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) s->readable = true;
      if (e & (EPOLLRDHUP | EPOLLHUP)) s->rdhup = true;
      if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) s->writable = true;
      pump(r, s->conn);
    }
    /* Connections whose budget ran out go on, in the order they stopped. */
    struct conn *again = r->again;
    r->again = NULL;
    while (again) {
      struct conn *c = again;
      again = c->again_next;
      c->in_again = false;
      if (again) again->again_prev = NULL;
      pump(r, c);
    }
    if (r->live && r->now - last_sweep >= period) {
      last_sweep = r->now;
      sweep(r);
    }
    if (!r->live) r->min_idle_ms = INT64_MAX;
    report(r);
  }
}

/* On the main thread: the relay is over for `data`; tell JavaScript and forget it. */
static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  struct relay *r = context;
  struct conn *c = data;
  if (env) {
    napi_value done, argv[2], global;
    napi_get_reference_value(env, c->done, &done);
    napi_create_int32(env, c->reason, &argv[0]);
    napi_create_int32(env, c->err, &argv[1]);
    napi_get_global(env, &global);
    napi_delete_reference(env, c->done);
    napi_delete_reference(env, c->counters);
    if (--r->active == 0 && r->tsfn_referenced) {
      napi_unref_threadsafe_function(env, r->tsfn);
      r->tsfn_referenced = false;
    }
    free(c);
    napi_call_function(env, global, done, 2, argv, NULL);
    return;
  }
  free(c);
}

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static bool start_thread(struct relay *r) {
  r->epfd = epoll_create1(EPOLL_CLOEXEC);
  r->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  r->scratch = malloc(SCRATCH);
  r->min_idle_ms = INT64_MAX;
  if (r->epfd < 0 || r->wakefd < 0 || !r->scratch) return false;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wakefd, &ev) < 0) return false;
  if (pthread_create(&r->thread, NULL, run, r) != 0) return false;
  r->thread_started = true;
  return true;
}

static napi_value start(napi_env env, napi_callback_info info) {
  struct relay *r;
  napi_get_instance_data(env, (void **)&r);
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) return throw_error(env, "start(clientFd, upstreamFd, idleMs, counters, done)");
  int32_t fds[2];
  int64_t idle_ms;
  if (napi_get_value_int32(env, argv[0], &fds[0]) != napi_ok ||
      napi_get_value_int32(env, argv[1], &fds[1]) != napi_ok || fds[0] < 0 || fds[1] < 0)
    return throw_error(env, "file descriptors must be non-negative integers");
  if (napi_get_value_int64(env, argv[2], &idle_ms) != napi_ok || idle_ms < 1)
    return throw_error(env, "idleMs must be a positive integer");
  napi_typedarray_type type;
  size_t length;
  void *counters;
  bool is_typedarray = false;
  napi_is_typedarray(env, argv[3], &is_typedarray);
  if (!is_typedarray) return throw_error(env, "counters must be a Float64Array of 2");
  napi_get_typedarray_info(env, argv[3], &type, &length, &counters, NULL, NULL);
  if (type != napi_float64_array || length < 2)
    return throw_error(env, "counters must be a Float64Array of 2");
  napi_valuetype cb_type;
  napi_typeof(env, argv[4], &cb_type);
  if (cb_type != napi_function) return throw_error(env, "done must be a function");
  if (!r->thread_started && !start_thread(r)) return throw_error(env, "relay thread failed");

  struct conn *c = calloc(1, sizeof *c);
  if (!c) return throw_error(env, "out of memory");
  c->idle_ms = idle_ms;
  for (int i = 0; i < 2; i++) {
    c->side[i] = (struct side){.conn = c, .fd = fds[i], .readable = true, .writable = true};
    ((double *)counters)[i] = 0;
  }
  for (int i = 0; i < 2; i++) {
    c->dir[i].from = &c->side[i];
    c->dir[i].to = &c->side[1 - i];
    c->dir[i].counter = (double *)counters + i;
  }
  napi_create_reference(env, argv[4], 1, &c->done);
  napi_create_reference(env, argv[3], 1, &c->counters);
  if (r->active++ == 0 && !r->tsfn_referenced) {
    napi_ref_threadsafe_function(env, r->tsfn);
    r->tsfn_referenced = true;
  }
  pthread_mutex_lock(&r->lock);
  c->next = r->incoming;
  r->incoming = c;
  pthread_mutex_unlock(&r->lock);
  uint64_t one = 1;
  if (write(r->wakefd, &one, sizeof one) < 0) { /* a wake is already pending */
  }
  napi_value handle;
  napi_create_external(env, c, NULL, NULL, &handle);
  return handle;
}

/* Only before `done` was called: after that the handle is freed. */
static napi_value abort_relay(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct conn *c = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&c) != napi_ok || !c)
    return throw_error(env, "abort(handle)");
  shutdown(c->side[0].fd, SHUT_RDWR);
  shutdown(c->side[1].fd, SHUT_RDWR);
  return NULL;
}

static void cleanup(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct relay *r = data;
  if (r->thread_started) {
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_mutex_unlock(&r->lock);
    uint64_t one = 1;
    if (write(r->wakefd, &one, sizeof one) < 0) { /* already woken */
    }
    pthread_join(r->thread, NULL);
  }
  /* Connections still relaying are lost with the environment; their sockets close with it. */
}

static napi_value init(napi_env env, napi_value exports) {
  struct relay *r = calloc(1, sizeof *r);
  if (!r) return throw_error(env, "out of memory");
  pthread_mutex_init(&r->lock, NULL);
  r->epfd = r->wakefd = -1;
  napi_value name;
  napi_create_string_utf8(env, "splice-relay", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, r, call_js,
                                      &r->tsfn) != napi_ok)
    return throw_error(env, "cannot create the relay's completion queue");
  napi_unref_threadsafe_function(env, r->tsfn);
  napi_set_instance_data(env, r, cleanup, NULL);
  napi_value fn;
  napi_create_function(env, "start", NAPI_AUTO_LENGTH, start, NULL, &fn);
  napi_set_named_property(env, exports, "start", fn);
  napi_create_function(env, "abort", NAPI_AUTO_LENGTH, abort_relay, NULL, &fn);
  napi_set_named_property(env, exports, "abort", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
