/*
 * Tests of the Kiln C client against a real kilnd (started by tests/run.sh,
 * which sets KILN_ADDR and KILN_TOKEN_FILE to an ADMIN token). Run under
 * valgrind there, so a leak fails them too. No timing assertions.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kiln.h"

static int failures = 0;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, "\n");                                             \
            failures++;                                                        \
        }                                                                      \
    } while (0)

/* Stops the test program: later steps depend on this one. */
#define REQUIRE(cond, ...)                                                     \
    do {                                                                       \
        CHECK(cond, __VA_ARGS__);                                              \
        if (!(cond)) goto done;                                                \
    } while (0)

#define SUBJECT "c_client_subject"
static const char *const PARAMS[] = {"sleep_ms", "600000", NULL};

/* What a watch of one job saw. */
typedef struct seen {
    const char *job_id;
    long long stop_at;       /* stop once an event with at least this revision arrives */
    long long last_revision; /* -1 before the first event */
    int decreasing;          /* a revision went down */
    int events;
    int created, paused, resumed; /* saw CREATED; saw the job PAUSED; saw it PENDING/RUNNING after PAUSED */
    int snapshot, snapshot_end;
} seen;

static int on_event(const Kiln__V1__WatchJobsResponse *event, void *user_data) {
    seen *s = user_data;
    s->events++;
    if (event->revision < s->last_revision) s->decreasing = 1;
    s->last_revision = event->revision;
    const Kiln__V1__Job *job = event->job;
    switch (event->kind) {
    case KILN__V1__WATCH_EVENT_KIND__WATCH_EVENT_KIND_SNAPSHOT:
        if (job && strcmp(job->id, s->job_id) == 0) s->snapshot++;
        break;
    case KILN__V1__WATCH_EVENT_KIND__WATCH_EVENT_KIND_SNAPSHOT_END:
        s->snapshot_end++;
        return s->stop_at < 0; /* a snapshot-only watch stops here */
    case KILN__V1__WATCH_EVENT_KIND__WATCH_EVENT_KIND_CREATED:
        if (job && strcmp(job->id, s->job_id) == 0) s->created++;
        break;
    default:
        break;
    }
    if (job && strcmp(job->id, s->job_id) == 0) {
        if (job->status == KILN__V1__JOB_STATUS__JOB_STATUS_PAUSED) s->paused = 1;
        else if (s->paused && (job->status == KILN__V1__JOB_STATUS__JOB_STATUS_PENDING ||
                               job->status == KILN__V1__JOB_STATUS__JOB_STATUS_RUNNING))
            s->resumed = 1;
    }
    return s->stop_at >= 0 && event->revision >= s->stop_at;
}

/* A port on 127.0.0.1 that refuses connections: bound (so no one else takes it
   while we look) but not listening, then released. */
static int unused_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return 1;
    close(fd);
    return ntohs(a.sin_port);
}

int main(void) {
    kiln_error err;
    Kiln__V1__Job *job = NULL, *got = NULL, *paused = NULL, *resumed = NULL, *other = NULL;
    kiln_client *bad = NULL;
    char id[128] = "";

    kiln_client *client = kiln_connect_env(&err);
    if (!client) {
        fprintf(stderr, "cannot connect: %s: %s\n", kiln_code_name(err.code), err.message);
        return 1;
    }

    /* A new server has project "default" but no subject. */
    int rc = kiln_create_subject(client, "default", SUBJECT, "table", NULL, &err);
    REQUIRE(rc == 0 || err.code == KILN_ALREADY_EXISTS, "create subject: %s: %s", kiln_code_name(err.code),
            err.message);

    Kiln__V1__ListJobTypesResponse *types = kiln_list_job_types(client, &err);
    REQUIRE(types != NULL, "job types: %s", err.message);
    int index_build = 0;
    for (size_t i = 0; i < types->n_job_types; i++)
        if (strcmp(types->job_types[i]->name, "INDEX_BUILD") == 0) index_build = 1;
    kiln_list_job_types_response_free(types);
    REQUIRE(index_build, "INDEX_BUILD is among the job types");

    /* submit -> get -> pause -> resume */
    job = kiln_submit_job(client, "default", "INDEX_BUILD", SUBJECT, PARAMS, NULL, &err);
    REQUIRE(job != NULL, "submit: %s: %s", kiln_code_name(err.code), err.message);
    snprintf(id, sizeof id, "%s", job->id);
    CHECK(strcmp(job->subject, SUBJECT) == 0, "subject %s", job->subject);
    CHECK(job->revision > 0, "revision %lld", (long long)job->revision);

    got = kiln_get_job(client, id, &err);
    REQUIRE(got != NULL, "get: %s: %s", kiln_code_name(err.code), err.message);
    CHECK(strcmp(got->id, id) == 0, "get returned %s", got->id);
    CHECK(got->revision >= job->revision, "get revision %lld < %lld", (long long)got->revision,
          (long long)job->revision);

    paused = kiln_pause_job(client, id, -1, &err);
    REQUIRE(paused != NULL, "pause: %s: %s", kiln_code_name(err.code), err.message);
    CHECK(paused->status == KILN__V1__JOB_STATUS__JOB_STATUS_PAUSED, "status after pause %s",
          kiln_job_status_name(paused->status));
    CHECK(paused->revision > got->revision, "pause revision %lld <= %lld", (long long)paused->revision,
          (long long)got->revision);

    /* A stale expected revision: ABORTED, with the job's revision in kiln-job-revision. */
    other = kiln_resume_job(client, id, 1, &err);
    CHECK(other == NULL && err.code == KILN_ABORTED, "stale expected revision: %s: %s", kiln_code_name(err.code),
          err.message);
    CHECK(err.job_revision == paused->revision, "kiln-job-revision %lld, job at %lld", err.job_revision,
          (long long)paused->revision);
    kiln_job_free(other);
    other = NULL;

    resumed = kiln_resume_job(client, id, paused->revision, &err);
    REQUIRE(resumed != NULL, "resume: %s: %s", kiln_code_name(err.code), err.message);
    CHECK(resumed->status == KILN__V1__JOB_STATUS__JOB_STATUS_PENDING ||
              resumed->status == KILN__V1__JOB_STATUS__JOB_STATUS_RUNNING,
          "status after resume %s", kiln_job_status_name(resumed->status));

    /* The watch replays every change after the submit's revision, in increasing revisions. */
    Kiln__V1__JobFilter filter = KILN__V1__JOB_FILTER__INIT;
    filter.key = id;
    seen s = {.job_id = id, .stop_at = resumed->revision, .last_revision = -1};
    rc = kiln_watch_jobs(client, &filter, job->revision - 1, on_event, &s, &err);
    CHECK(rc == 0, "watch: %s: %s", kiln_code_name(err.code), err.message);
    CHECK(!s.decreasing, "revisions never decrease");
    CHECK(s.created == 1, "the submit is CREATED (%d)", s.created);
    CHECK(s.paused && s.resumed, "the watch saw the pause (%d) and the resume (%d)", s.paused, s.resumed);
    CHECK(s.last_revision == resumed->revision, "last revision %lld, resume at %lld", s.last_revision,
          (long long)resumed->revision);

    /* Without a revision: the snapshot, then SNAPSHOT_END, where the callback stops the stream. */
    seen snap = {.job_id = id, .stop_at = -1, .last_revision = -1};
    rc = kiln_watch_jobs(client, &filter, -1, on_event, &snap, &err);
    CHECK(rc == 0, "snapshot watch: %s: %s", kiln_code_name(err.code), err.message);
    CHECK(snap.snapshot == 1 && snap.snapshot_end == 1, "snapshot %d, end %d", snap.snapshot, snap.snapshot_end);
    CHECK(snap.last_revision >= resumed->revision, "snapshot at %lld", snap.last_revision);

    /* The connection serves calls after a cancelled stream. A refused operation:
       FAILED_PRECONDITION, the message says why. */
    other = kiln_resume_job(client, id, -1, &err);
    CHECK(other == NULL && err.code == KILN_FAILED_PRECONDITION, "resume twice: %s: %s", kiln_code_name(err.code),
          err.message);
    CHECK(strstr(err.message, "cannot resume") != NULL, "message: %s", err.message);
    CHECK(err.job_status[0] != '\0', "kiln-job-status is set");
    kiln_job_free(other);
    other = NULL;

    /* One page of a list. */
    Kiln__V1__ListJobsResponse *page = kiln_list_jobs(client, NULL, 1, NULL, &err);
    CHECK(page != NULL, "list: %s: %s", kiln_code_name(err.code), err.message);
    if (page) {
        CHECK(page->n_jobs == 1 && page->total_size >= 1, "%zu jobs of %lld", page->n_jobs,
              (long long)page->total_size);
        kiln_list_jobs_response_free(page);
    }

    /* NOT_FOUND for an unknown job. */
    other = kiln_get_job(client, "no-such-job", &err);
    CHECK(other == NULL && err.code == KILN_NOT_FOUND, "unknown job: %s: %s", kiln_code_name(err.code),
          err.message);
    kiln_job_free(other);
    other = NULL;

    /* Discard, delete, and it is gone. */
    other = kiln_discard_job(client, id, -1, &err);
    CHECK(other && other->status == KILN__V1__JOB_STATUS__JOB_STATUS_DISCARDED, "discard: %s: %s",
          kiln_code_name(err.code), err.message);
    kiln_job_free(other);
    other = kiln_get_job(client, id, &err);
    kiln_job_free(other); /* it may or may not still exist here; only the delete below matters */
    other = NULL;
    rc = kiln_delete_job(client, id, -1, &err);
    CHECK(rc == 0, "delete: %s: %s", kiln_code_name(err.code), err.message);
    other = kiln_get_job(client, id, &err);
    CHECK(other == NULL && err.code == KILN_NOT_FOUND, "deleted job: %s", kiln_code_name(err.code));
    kiln_job_free(other);
    other = NULL;

    /* An unknown token: UNAUTHENTICATED. */
    const char *addr = getenv("KILN_ADDR");
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    REQUIRE(colon != NULL, "KILN_ADDR is host:port");
    int port = atoi(colon + 1);
    bad = kiln_connect("127.0.0.1", port, "not-a-token", &err);
    REQUIRE(bad != NULL, "connect: %s", err.message);
    other = kiln_get_job(bad, id, &err);
    CHECK(other == NULL && err.code == KILN_UNAUTHENTICATED, "unknown token: %s: %s", kiln_code_name(err.code),
          err.message);
    kiln_job_free(other);
    other = NULL;

    /* No token at all: UNAUTHENTICATED too. */
    kiln_close(bad);
    bad = kiln_connect("127.0.0.1", port, NULL, &err);
    REQUIRE(bad != NULL, "connect: %s", err.message);
    other = kiln_get_job(bad, id, &err);
    CHECK(other == NULL && err.code == KILN_UNAUTHENTICATED, "no token: %s: %s", kiln_code_name(err.code),
          err.message);
    kiln_job_free(other);
    other = NULL;

    /* Nothing listening: UNAVAILABLE from kiln_connect. */
    kiln_client *nowhere = kiln_connect("127.0.0.1", unused_port(), "t", &err);
    CHECK(nowhere == NULL && err.code == KILN_UNAVAILABLE, "closed port: %s: %s", kiln_code_name(err.code),
          err.message);
    kiln_close(nowhere);

    /* A server that accepts the connection and never answers: the call fails with
       DEADLINE_EXCEEDED after the client's timeout instead of blocking. */
    {
        int silent = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        CHECK(silent >= 0 && bind(silent, (struct sockaddr *)&a, sizeof a) == 0 && listen(silent, 4) == 0 &&
                  getsockname(silent, (struct sockaddr *)&a, &len) == 0,
              "a silent listener: %s", strerror(errno));
        kiln_client *hanging = kiln_connect("127.0.0.1", ntohs(a.sin_port), "t", &err);
        CHECK(hanging != NULL, "connect to the silent listener: %s", err.message);
        if (hanging) {
            kiln_set_timeout(hanging, 300);
            other = kiln_get_job(hanging, "any", &err);
            CHECK(other == NULL && err.code == KILN_DEADLINE_EXCEEDED, "silent server: %s: %s",
                  kiln_code_name(err.code), err.message);
            kiln_job_free(other);
            other = NULL;
            kiln_close(hanging);
        }
        close(silent);
    }

done:
    kiln_close(bad);
    kiln_job_free(job);
    kiln_job_free(got);
    kiln_job_free(paused);
    kiln_job_free(resumed);
    kiln_close(client);
    if (failures) {
        fprintf(stderr, "test_kiln: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_kiln: all checks passed\n");
    return 0;
}
