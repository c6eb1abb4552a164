/*
 * gRPC over HTTP/2, by hand, on libnghttp2.
 *
 * Why by hand: there is no maintained, small C gRPC library. gRPC's own core
 * C API (grpc/grpc.h) is not meant for applications (its maintainers point C
 * users at the C++ API), and it is huge: it pulls in its own TLS, DNS,
 * event engine and build system. The protocol itself is small
 * (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md): a call
 * is a POST to /package.Service/Method with content-type application/grpc
 * and te: trailers; each message is a 5-byte prefix (a compressed flag, here
 * always 0, and a 4-byte big-endian length) followed by the protobuf bytes;
 * the status arrives in trailers (grpc-status, a percent-encoded
 * grpc-message, and Kiln's kiln-* details). Over a real HTTP/2 library the
 * framing is about a hundred lines (the header and data callbacks, deliver
 * and kiln_grpc_call below); the rest of this file is the socket and errors.
 *
 * The connection is plaintext HTTP/2 with prior knowledge (h2c) over a
 * blocking TCP socket; calls run one at a time on it.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "internal.h"

struct kiln_client {
    int fd;
    nghttp2_session *session;
    char authority[300];
    char *authorization; /* "Bearer <token>", or NULL */
    int broken;          /* the connection failed: every later call is UNAVAILABLE */
    int timeout_ms;      /* the deadline of a unary call; 0: none */
};

void kiln_set_timeout(kiln_client *client, int milliseconds) {
    if (client) client->timeout_ms = milliseconds > 0 ? milliseconds : 0;
}

int kiln_client_timeout(const kiln_client *client) { return client->timeout_ms; }

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- buffers and errors ---- */

int kiln_buf_append(kiln_buf *buf, const uint8_t *data, size_t len) {
    if (buf->len + len > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 256;
        while (cap < buf->len + len) cap *= 2;
        uint8_t *grown = realloc(buf->data, cap);
        if (!grown) return -1;
        buf->data = grown;
        buf->cap = cap;
    }
    if (len) memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    return 0;
}

void kiln_buf_free(kiln_buf *buf) {
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

void kiln_clear_error(kiln_error *err) {
    if (!err) return;
    memset(err, 0, sizeof *err);
    err->job_revision = err->subject_version = err->last_revision = err->oldest_revision = -1;
}

void kiln_set_error(kiln_error *err, int code, const char *format, ...) {
    if (!err) return;
    kiln_clear_error(err);
    err->code = code;
    va_list args;
    va_start(args, format);
    vsnprintf(err->message, sizeof err->message, format, args);
    va_end(args);
}

/* ---- one call's state ---- */

typedef struct call {
    int32_t stream_id;
    const uint8_t *body; /* the framed request */
    size_t body_len;
    size_t body_sent;
    kiln_buf in; /* response DATA not yet parsed into messages */
    int http_status;
    int have_status;
    kiln_error status; /* from grpc-status, grpc-message and kiln-* */
    int closed;
    uint32_t close_error; /* the stream's RST_STREAM code, 0 if it ended normally */
    int oom;
} call;

static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *data_flags, nghttp2_data_source *source, void *user_data) {
    (void)session, (void)stream_id, (void)user_data;
    call *c = source->ptr;
    size_t n = c->body_len - c->body_sent;
    if (n > length) n = length;
    memcpy(buf, c->body + c->body_sent, n);
    c->body_sent += n;
    if (c->body_sent == c->body_len) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static void copy_value(char *dst, size_t cap, const uint8_t *value, size_t len) {
    if (len >= cap) len = cap - 1;
    memcpy(dst, value, len);
    dst[len] = '\0';
}

static long long parse_ll(const uint8_t *value, size_t len) {
    char tmp[32];
    copy_value(tmp, sizeof tmp, value, len);
    char *end;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    return (errno || end == tmp) ? -1 : v;
}

/* grpc-message is percent-encoded (RFC 3986 style, UTF-8 bytes). */
static void percent_decode(char *dst, size_t cap, const uint8_t *value, size_t len) {
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        if (value[i] == '%' && i + 2 < len && isxdigit(value[i + 1]) && isxdigit(value[i + 2])) {
            char hex[3] = {(char)value[i + 1], (char)value[i + 2], 0};
            dst[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            dst[o++] = (char)value[i];
        }
    }
    dst[o] = '\0';
}

#define NAME_IS(lit) (namelen == sizeof(lit) - 1 && memcmp(name, lit, namelen) == 0)

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data) {
    (void)flags, (void)user_data;
    call *c = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!c) return 0;
    kiln_error *s = &c->status;
    if (NAME_IS(":status")) {
        c->http_status = (int)parse_ll(value, valuelen);
    } else if (NAME_IS("grpc-status")) {
        s->code = (int)parse_ll(value, valuelen);
        c->have_status = 1;
    } else if (NAME_IS("grpc-message")) {
        percent_decode(s->message, sizeof s->message, value, valuelen);
    } else if (NAME_IS("kiln-field")) {
        copy_value(s->field, sizeof s->field, value, valuelen);
    } else if (NAME_IS("kiln-job-status")) {
        copy_value(s->job_status, sizeof s->job_status, value, valuelen);
    } else if (NAME_IS("kiln-allowed-actions")) {
        copy_value(s->allowed_actions, sizeof s->allowed_actions, value, valuelen);
    } else if (NAME_IS("kiln-job-revision")) {
        s->job_revision = parse_ll(value, valuelen);
    } else if (NAME_IS("kiln-subject-version")) {
        s->subject_version = parse_ll(value, valuelen);
    } else if (NAME_IS("kiln-last-revision")) {
        s->last_revision = parse_ll(value, valuelen);
    } else if (NAME_IS("kiln-oldest-revision")) {
        s->oldest_revision = parse_ll(value, valuelen);
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *user_data) {
    (void)flags, (void)user_data;
    call *c = nghttp2_session_get_stream_user_data(session, stream_id);
    if (c && kiln_buf_append(&c->in, data, len) != 0) c->oom = 1;
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data) {
    (void)user_data;
    call *c = nghttp2_session_get_stream_user_data(session, stream_id);
    if (c) {
        c->closed = 1;
        c->close_error = error_code;
    }
    return 0;
}

static ssize_t on_send(nghttp2_session *session, const uint8_t *data, size_t length, int flags, void *user_data) {
    (void)session, (void)flags;
    kiln_client *client = user_data;
    size_t sent = 0;
    while (sent < length) {
        ssize_t n = send(client->fd, data + sent, length - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        sent += (size_t)n;
    }
    return (ssize_t)length;
}

/* ---- connection ---- */

kiln_client *kiln_connect(const char *host, int port, const char *token, kiln_error *err) {
    kiln_clear_error(err);
    if (!host || !*host || port <= 0 || port > 65535) {
        kiln_set_error(err, KILN_INVALID_ARGUMENT, "address: need a host and a port from 1 to 65535");
        return NULL;
    }
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {0}, *addrs = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, service, &hints, &addrs);
    if (rc != 0) {
        kiln_set_error(err, KILN_UNAVAILABLE, "cannot resolve %s: %s", host, gai_strerror(rc));
        return NULL;
    }
    int fd = -1, last_errno = 0;
    for (struct addrinfo *a = addrs; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) { last_errno = errno; continue; }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(addrs);
    if (fd < 0) {
        kiln_set_error(err, KILN_UNAVAILABLE, "cannot connect to %s:%d: %s", host, port, strerror(last_errno));
        return NULL;
    }

    kiln_client *client = calloc(1, sizeof *client);
    if (!client) {
        close(fd);
        kiln_set_error(err, KILN_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    client->fd = fd;
    client->timeout_ms = KILN_DEFAULT_TIMEOUT_MS;
    if (strchr(host, ':'))
        snprintf(client->authority, sizeof client->authority, "[%s]:%d", host, port);
    else
        snprintf(client->authority, sizeof client->authority, "%s:%d", host, port);
    if (token && *token) {
        size_t n = strlen(token) + sizeof "Bearer ";
        client->authorization = malloc(n);
        if (client->authorization) snprintf(client->authorization, n, "Bearer %s", token);
    }

    nghttp2_session_callbacks *callbacks;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) goto oom;
    nghttp2_session_callbacks_set_send_callback(callbacks, on_send);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    rc = nghttp2_session_client_new(&client->session, callbacks, client);
    nghttp2_session_callbacks_del(callbacks);
    if (rc != 0) goto oom;
    /* A large stream window so that a fast watch is not throttled by tiny updates. */
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
    };
    nghttp2_submit_settings(client->session, NGHTTP2_FLAG_NONE, settings, 2);
    if (nghttp2_session_send(client->session) != 0) {
        kiln_set_error(err, KILN_UNAVAILABLE, "cannot send the HTTP/2 preface to %s", client->authority);
        kiln_close(client);
        return NULL;
    }
    return client;
oom:
    kiln_set_error(err, KILN_RESOURCE_EXHAUSTED, "out of memory");
    kiln_close(client);
    return NULL;
}

void kiln_close(kiln_client *client) {
    if (!client) return;
    if (client->session) {
        if (!client->broken) {
            nghttp2_submit_goaway(client->session, NGHTTP2_FLAG_NONE,
                                  nghttp2_session_get_last_proc_stream_id(client->session), NGHTTP2_NO_ERROR,
                                  NULL, 0);
            nghttp2_session_send(client->session);
        }
        nghttp2_session_del(client->session);
    }
    if (client->fd >= 0) close(client->fd);
    free(client->authorization);
    free(client);
}

/* ---- a call ---- */

/* Hands every complete message in c->in to on_message; 1 if it asked to stop, -1 on a bad frame. */
static int deliver(call *c, kiln_message_fn on_message, void *user_data, kiln_error *err) {
    size_t off = 0;
    int result = 0;
    while (c->in.len - off >= 5) {
        const uint8_t *p = c->in.data + off;
        uint32_t len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
        if (p[0] != 0) {
            kiln_set_error(err, KILN_INTERNAL, "the server sent a compressed message, which was not asked for");
            result = -1;
            break;
        }
        if (c->in.len - off - 5 < len) break;
        off += 5 + len;
        if (on_message && on_message(p + 5, len, user_data) != 0) {
            result = 1;
            break;
        }
    }
    memmove(c->in.data, c->in.data + off, c->in.len - off);
    c->in.len -= off;
    return result;
}

static int fail_connection(kiln_client *client, kiln_error *err, const char *what) {
    client->broken = 1;
    kiln_set_error(err, KILN_UNAVAILABLE, "connection to %s %s", client->authority, what);
    return -1;
}

/* The gRPC code for an HTTP status without grpc-status (as gRPC's HTTP-to-gRPC mapping). */
static int code_for_http(int status) {
    switch (status) {
    case 400: return KILN_INTERNAL;
    case 401: return KILN_UNAUTHENTICATED;
    case 403: return KILN_PERMISSION_DENIED;
    case 404: return KILN_UNIMPLEMENTED;
    case 429: case 502: case 503: case 504: return KILN_UNAVAILABLE;
    default: return KILN_UNKNOWN;
    }
}

int kiln_grpc_call(kiln_client *client, const char *path, const uint8_t *request, size_t request_len,
                   int timeout_ms, kiln_message_fn on_message, void *user_data, kiln_error *err) {
    kiln_clear_error(err);
    if (client->broken) return fail_connection(client, err, "was lost earlier; connect again");

    call c = {0};
    kiln_clear_error(&c.status);
    /* grpc-timeout: at most 8 digits, in milliseconds. */
    char grpc_timeout[16];
    snprintf(grpc_timeout, sizeof grpc_timeout, "%dm", timeout_ms > 0 ? timeout_ms % 100000000 : 0);
    long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    uint8_t *body = malloc(request_len + 5);
    if (!body) {
        kiln_set_error(err, KILN_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    body[0] = 0;
    body[1] = (uint8_t)(request_len >> 24);
    body[2] = (uint8_t)(request_len >> 16);
    body[3] = (uint8_t)(request_len >> 8);
    body[4] = (uint8_t)request_len;
    if (request_len) memcpy(body + 5, request, request_len);
    c.body = body;
    c.body_len = request_len + 5;

#define HDR(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv headers[] = {
        HDR(":method", "POST"),
        HDR(":scheme", "http"),
        HDR(":path", path),
        HDR(":authority", client->authority),
        HDR("content-type", "application/grpc"),
        HDR("te", "trailers"),
        HDR("user-agent", "kiln-c/0.1"),
        HDR("grpc-timeout", grpc_timeout),
        HDR("authorization", client->authorization ? client->authorization : ""),
    };
#undef HDR
    size_t nheaders = sizeof headers / sizeof headers[0] - (client->authorization ? 0 : 1);
    if (timeout_ms <= 0) { /* no deadline: drop the grpc-timeout header */
        headers[nheaders - (client->authorization ? 2 : 1)] = headers[nheaders - 1];
        nheaders -= 1;
    }
    nghttp2_data_provider provider = {.source.ptr = &c, .read_callback = read_body};
    c.stream_id = nghttp2_submit_request(client->session, NULL, headers, nheaders, &provider, &c);
    if (c.stream_id < 0) {
        free(body);
        kiln_set_error(err, KILN_INTERNAL, "cannot start the call: %s", nghttp2_strerror(c.stream_id));
        return -1;
    }

    int result = 0, cancelled = 0;
    uint8_t buf[16384];
    for (;;) {
        if (nghttp2_session_send(client->session) != 0) {
            result = fail_connection(client, err, "failed while sending");
            break;
        }
        if (!cancelled) {
            int d = deliver(&c, on_message, user_data, err);
            if (d < 0) {
                result = -1;
                cancelled = 1;
            } else if (d > 0) {
                cancelled = 1;
            }
            if (cancelled && !c.closed) {
                nghttp2_submit_rst_stream(client->session, NGHTTP2_FLAG_NONE, c.stream_id, NGHTTP2_CANCEL);
                continue; /* send it; the stream closes on sending */
            }
        }
        if (c.closed || c.oom) break;
        if (deadline) {
            long long left = deadline - now_ms();
            struct pollfd p = {.fd = client->fd, .events = POLLIN};
            int ready = left > 0 ? poll(&p, 1, (int)left) : 0;
            if (ready < 0 && errno == EINTR) continue;
            if (ready == 0) {
                kiln_set_error(err, KILN_DEADLINE_EXCEEDED, "no answer within %d ms", timeout_ms);
                result = -1;
                cancelled = 1;
                nghttp2_submit_rst_stream(client->session, NGHTTP2_FLAG_NONE, c.stream_id, NGHTTP2_CANCEL);
                if (nghttp2_session_send(client->session) != 0) client->broken = 1;
                break;
            }
        }
        ssize_t n = recv(client->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            result = fail_connection(client, err, n == 0 ? "was closed by the server" : "failed while reading");
            break;
        }
        ssize_t used = nghttp2_session_mem_recv(client->session, buf, (size_t)n);
        if (used < 0) {
            result = fail_connection(client, err, "broke the HTTP/2 protocol");
            break;
        }
    }
    /* The stream's user data points at this stack frame: forget it if the stream lives on. */
    if (!c.closed && !client->broken) nghttp2_session_set_stream_user_data(client->session, c.stream_id, NULL);
    free(body);

    if (result != 0 || cancelled) {
        kiln_buf_free(&c.in);
        return result;
    }
    if (c.oom) {
        kiln_set_error(err, KILN_RESOURCE_EXHAUSTED, "out of memory");
        result = -1;
    } else if (c.have_status) {
        if (c.status.code != KILN_OK) {
            if (err) *err = c.status;
            result = -1;
        } else if (c.in.len != 0) {
            kiln_set_error(err, KILN_INTERNAL, "the response ended inside a message");
            result = -1;
        }
    } else if (c.http_status != 200 && c.http_status > 0) {
        kiln_set_error(err, code_for_http(c.http_status), "HTTP status %d without a gRPC status", c.http_status);
        result = -1;
    } else if (c.close_error != NGHTTP2_NO_ERROR) {
        kiln_set_error(err, c.close_error == NGHTTP2_REFUSED_STREAM ? KILN_UNAVAILABLE : KILN_INTERNAL,
                       "the server reset the call: %s", nghttp2_http2_strerror(c.close_error));
        result = -1;
    } else {
        kiln_set_error(err, KILN_INTERNAL, "the call ended without a gRPC status");
        result = -1;
    }
    kiln_buf_free(&c.in);
    return result;
}
