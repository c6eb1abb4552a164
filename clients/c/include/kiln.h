/*
 * kiln.h — a small C client for Kiln's job-operations API (kiln.v1, gRPC).
 *
 * One kiln_client is one HTTP/2 connection (plaintext h2c; TLS is not yet
 * supported) carrying calls one after another. A client is not thread-safe:
 * use it from one thread at a time, or give each thread its own. There is no
 * global state.
 *
 * Messages are the protobuf-c structs generated from Protos/kiln/v1 (see
 * gen/kiln/v1/jobs.pb-c.h). Every object a function returns is owned by the
 * caller and freed with the free function named next to it.
 *
 * Errors: a function returns NULL (pointers) or -1 (ints) on failure and fills
 * the kiln_error it was given (which may be NULL when the caller does not
 * care). The code is the gRPC status code; a connection that cannot be made
 * or is lost is KILN_UNAVAILABLE, a malformed answer KILN_INTERNAL.
 */
#ifndef KILN_H
#define KILN_H

#include "kiln/v1/jobs.pb-c.h"
#include "kiln/v1/subjects.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* gRPC status codes. */
enum {
    KILN_OK = 0,
    KILN_CANCELLED = 1,
    KILN_UNKNOWN = 2,
    KILN_INVALID_ARGUMENT = 3,
    KILN_DEADLINE_EXCEEDED = 4,
    KILN_NOT_FOUND = 5,
    KILN_ALREADY_EXISTS = 6,
    KILN_PERMISSION_DENIED = 7,
    KILN_RESOURCE_EXHAUSTED = 8,
    KILN_FAILED_PRECONDITION = 9,
    KILN_ABORTED = 10,
    KILN_OUT_OF_RANGE = 11,
    KILN_UNIMPLEMENTED = 12,
    KILN_INTERNAL = 13,
    KILN_UNAVAILABLE = 14,
    KILN_DATA_LOSS = 15,
    KILN_UNAUTHENTICATED = 16
};

/*
 * Why a call failed: the grpc-status, the (percent-decoded) grpc-message and
 * the server's kiln-* trailers. Integer details are -1 when the server did
 * not send them; strings are empty. Strings are truncated to fit.
 */
typedef struct kiln_error {
    int code;                  /* a KILN_* status code; KILN_OK when there was no error */
    char message[512];         /* grpc-message */
    char field[128];           /* kiln-field: the request field at fault */
    char job_status[32];       /* kiln-job-status, e.g. "RUNNING" */
    char allowed_actions[128]; /* kiln-allowed-actions, as sent */
    long long job_revision;    /* kiln-job-revision (ABORTED) */
    long long subject_version; /* kiln-subject-version */
    long long last_revision;   /* kiln-last-revision: resume a watch after it */
    long long oldest_revision; /* kiln-oldest-revision (OUT_OF_RANGE) */
} kiln_error;

/* "OK", "NOT_FOUND", ... for a status code; "UNKNOWN_CODE" for a number outside 0-16. */
const char *kiln_code_name(int code);

typedef struct kiln_client kiln_client;

/*
 * Connects to host:port (plaintext HTTP/2) and authenticates every call with
 * "authorization: Bearer <token>" (token may be NULL for none). The token is
 * not checked here: the first call says UNAUTHENTICATED. Free with kiln_close.
 */
kiln_client *kiln_connect(const char *host, int port, const char *token, kiln_error *err);

/*
 * kiln_connect from the environment, as the other Kiln clients read it:
 * KILN_ADDR ("host:port", "[v6]:port"; default 127.0.0.1:7077), and
 * KILN_TOKEN or else KILN_TOKEN_FILE (a file holding the token, such as
 * kilnd's <data-dir>/admin.token; surrounding whitespace is dropped).
 */
kiln_client *kiln_connect_env(kiln_error *err);

/* Closes the connection and frees the client. NULL is ignored. */
void kiln_close(kiln_client *client);

/* The deadline of each unary call unless kiln_set_timeout says otherwise. */
#define KILN_DEFAULT_TIMEOUT_MS 30000

/*
 * Sets the deadline of each unary call (0: none). A call that gets no answer in
 * time is cancelled and fails with KILN_DEADLINE_EXCEEDED; the connection stays
 * usable. Watches have no deadline: the server's heartbeats show they are alive.
 */
void kiln_set_timeout(kiln_client *client, int milliseconds);

/* ---- Jobs ---- */

/*
 * Submits a job of job_type on subject in project. params: NULL, or a
 * NULL-terminated array of alternating keys and values
 * ({"sleep_ms", "100", NULL}). request_id: NULL, or an idempotency key (a
 * repeat with the same key returns the first job). Free with kiln_job_free.
 */
Kiln__V1__Job *kiln_submit_job(kiln_client *client, const char *project, const char *job_type,
                               const char *subject, const char *const *params, const char *request_id,
                               kiln_error *err);

/* The job with this id (NOT_FOUND otherwise). Free with kiln_job_free. */
Kiln__V1__Job *kiln_get_job(kiln_client *client, const char *id, kiln_error *err);

/* Frees a job returned by this library. NULL is ignored. */
void kiln_job_free(Kiln__V1__Job *job);

/*
 * One page of jobs. filter: NULL for every job the caller may see.
 * page_size: 0 for the server's default (50). page_token: NULL or "" for the
 * first page, else the previous response's next_page_token (empty on the last
 * page). Free with kiln_list_jobs_response_free.
 */
Kiln__V1__ListJobsResponse *kiln_list_jobs(kiln_client *client, const Kiln__V1__JobFilter *filter,
                                           int page_size, const char *page_token, kiln_error *err);
void kiln_list_jobs_response_free(Kiln__V1__ListJobsResponse *response);

/*
 * Operations. expected_revision: -1 for none, else the operation is refused
 * with ABORTED (trailer kiln-job-revision) unless it is the job's revision.
 * An operation the job's status does not allow is FAILED_PRECONDITION (the
 * message names the status and what it allows). Return the job after the
 * operation; free with kiln_job_free.
 */
Kiln__V1__Job *kiln_pause_job(kiln_client *client, const char *id, long long expected_revision, kiln_error *err);
Kiln__V1__Job *kiln_resume_job(kiln_client *client, const char *id, long long expected_revision, kiln_error *err);
Kiln__V1__Job *kiln_restart_job(kiln_client *client, const char *id, long long expected_revision, kiln_error *err);
Kiln__V1__Job *kiln_discard_job(kiln_client *client, const char *id, long long expected_revision, kiln_error *err);

/*
 * Any of the four above by action (KILN__V1__JOB_ACTION__JOB_ACTION_PAUSE, ...), with
 * an optional request_id (NULL: none) so that a retry does not act twice.
 */
Kiln__V1__Job *kiln_job_action(kiln_client *client, Kiln__V1__JobAction action, const char *id,
                               long long expected_revision, const char *request_id, kiln_error *err);

/* Deletes a FINISHED or DISCARDED job. Returns 0, or -1 with err filled. */
int kiln_delete_job(kiln_client *client, const char *id, long long expected_revision, kiln_error *err);

/* The server's job types. Free with kiln_list_job_types_response_free. */
Kiln__V1__ListJobTypesResponse *kiln_list_job_types(kiln_client *client, kiln_error *err);
void kiln_list_job_types_response_free(Kiln__V1__ListJobTypesResponse *response);

/* ---- Subjects ---- */

/*
 * Creates a subject (kind and schema may be NULL) in project: jobs are
 * submitted against subjects. ALREADY_EXISTS when the name is taken. Returns
 * 0, or -1 with err filled.
 */
int kiln_create_subject(kiln_client *client, const char *project, const char *name, const char *kind,
                        const char *schema, kiln_error *err);

/* ---- Watching ---- */

/*
 * Called with each message of a watch, in order; the event is freed when the
 * callback returns (copy what you keep, e.g. with protobuf_c_message_pack).
 * Return 0 to go on, non-zero to stop the watch.
 */
typedef int (*kiln_watch_fn)(const Kiln__V1__WatchJobsResponse *event, void *user_data);

/*
 * Streams WatchJobs: with since_revision == -1, every matching job as SNAPSHOT
 * events, then SNAPSHOT_END, then live changes; with since_revision >= 0,
 * every matching change after that revision, then live changes. Revisions
 * never decrease along a stream; HEARTBEAT events (after 5 s of silence) carry
 * the revision to resume after. filter: NULL for every job.
 *
 * Blocks until the callback returns non-zero (returns 0; the stream is
 * cancelled), the server ends the stream with OK (returns 0), or it ends with
 * an error (returns -1, err filled: e.g. RESOURCE_EXHAUSTED or UNAVAILABLE
 * with err->last_revision to resume after, OUT_OF_RANGE when since_revision
 * is older than the event log keeps). This client does not reconnect by
 * itself: call again with the last revision seen.
 */
int kiln_watch_jobs(kiln_client *client, const Kiln__V1__JobFilter *filter, long long since_revision,
                    kiln_watch_fn callback, void *user_data, kiln_error *err);

/* ---- Names ---- */

/* "PENDING", "RUNNING", ... ("UNSPECIFIED" for 0 or an unknown value). */
const char *kiln_job_status_name(Kiln__V1__JobStatus status);
/* "SNAPSHOT", "SNAPSHOT_END", "CREATED", "UPDATED", "DELETED", "HEARTBEAT". */
const char *kiln_watch_kind_name(Kiln__V1__WatchEventKind kind);

#ifdef __cplusplus
}
#endif

#endif /* KILN_H */
