/* Internals shared by kiln.c and grpc.c; not part of the API. */
#ifndef KILN_INTERNAL_H
#define KILN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "kiln.h"

/* A growable byte buffer. */
typedef struct kiln_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} kiln_buf;

int kiln_buf_append(kiln_buf *buf, const uint8_t *data, size_t len);
void kiln_buf_free(kiln_buf *buf);

/* Fills err (if not NULL) with a client-side error; details are cleared. */
void kiln_set_error(kiln_error *err, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
void kiln_clear_error(kiln_error *err);

/*
 * Called with each complete response message (the protobuf bytes without the
 * 5-byte prefix). Return 0 to go on, non-zero to cancel the stream.
 */
typedef int (*kiln_message_fn)(const uint8_t *data, size_t len, void *user_data);

/*
 * One call: POST path with the framed request message, then each response
 * message to on_message, then the status from the trailers. Returns 0 when the
 * status is OK or the callback cancelled; -1 with err filled otherwise.
 * timeout_ms > 0: the call's deadline (sent as grpc-timeout; when it passes the
 * stream is cancelled and the call fails with DEADLINE_EXCEEDED, the
 * connection staying usable); 0: none (watches, kept alive by heartbeats).
 */
int kiln_grpc_call(kiln_client *client, const char *path, const uint8_t *request, size_t request_len,
                   int timeout_ms, kiln_message_fn on_message, void *user_data, kiln_error *err);

/* The deadline of a unary call on this client, in milliseconds (kiln_set_timeout). */
int kiln_client_timeout(const kiln_client *client);

#endif
