/* The kiln.h API: requests packed with protobuf-c, sent by kiln_grpc_call (grpc.c). */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *kiln_code_name(int code) {
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
        "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    };
    return code >= 0 && code <= 16 ? names[code] : "UNKNOWN_CODE";
}

const char *kiln_job_status_name(Kiln__V1__JobStatus status) {
    static const char *const names[] = {"UNSPECIFIED", "PENDING", "RUNNING", "PAUSED",
                                        "ERROR", "DISCARDED", "FINISHED"};
    return (int)status >= 0 && (int)status <= 6 ? names[status] : "UNSPECIFIED";
}

const char *kiln_watch_kind_name(Kiln__V1__WatchEventKind kind) {
    static const char *const names[] = {"UNSPECIFIED", "SNAPSHOT", "SNAPSHOT_END", "CREATED",
                                        "UPDATED", "DELETED", "HEARTBEAT"};
    return (int)kind >= 0 && (int)kind <= 6 ? names[kind] : "UNSPECIFIED";
}

/* ---- environment ---- */

static char *read_token_file(const char *path, kiln_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        kiln_set_error(err, KILN_INVALID_ARGUMENT, "KILN_TOKEN_FILE: cannot read %s", path);
        return NULL;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *start = buf;
    while (*start && isspace((unsigned char)*start)) start++;
    char *end = start + strlen(start);
    while (end > start && isspace((unsigned char)end[-1])) *--end = '\0';
    char *token = strdup(start);
    if (!token) kiln_set_error(err, KILN_RESOURCE_EXHAUSTED, "out of memory");
    return token;
}

kiln_client *kiln_connect_env(kiln_error *err) {
    kiln_clear_error(err);
    const char *addr = getenv("KILN_ADDR");
    if (!addr || !*addr) addr = "127.0.0.1:7077";
    char host[256];
    const char *colon;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        colon = close ? close + 1 : NULL;
        if (!close || *colon != ':' || (size_t)(close - addr - 1) >= sizeof host) colon = NULL;
        else {
            memcpy(host, addr + 1, (size_t)(close - addr - 1));
            host[close - addr - 1] = '\0';
        }
    } else {
        colon = strrchr(addr, ':');
        if (colon && (size_t)(colon - addr) < sizeof host) {
            memcpy(host, addr, (size_t)(colon - addr));
            host[colon - addr] = '\0';
        } else {
            colon = NULL;
        }
    }
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || !*host || end == colon + 1 || *end || port <= 0 || port > 65535) {
        kiln_set_error(err, KILN_INVALID_ARGUMENT, "KILN_ADDR: expected host:port, got \"%s\"", addr);
        return NULL;
    }
    const char *token = getenv("KILN_TOKEN");
    char *owned = NULL;
    if ((!token || !*token) && getenv("KILN_TOKEN_FILE") && *getenv("KILN_TOKEN_FILE")) {
        owned = read_token_file(getenv("KILN_TOKEN_FILE"), err);
        if (!owned) return NULL;
        token = owned;
    }
    char *trimmed = NULL;
    if (token && !owned) { /* KILN_TOKEN: drop surrounding whitespace as for the file */
        while (isspace((unsigned char)*token)) token++;
        trimmed = strdup(token);
        if (trimmed) {
            char *e = trimmed + strlen(trimmed);
            while (e > trimmed && isspace((unsigned char)e[-1])) *--e = '\0';
            token = trimmed;
        }
    }
    kiln_client *client = kiln_connect(host, (int)port, token, err);
    free(owned);
    free(trimmed);
    return client;
}

/* ---- calls ---- */

/* Collects the one message of a unary call. */
typedef struct unary {
    kiln_buf message;
    int count;
} unary;

static int collect(const uint8_t *data, size_t len, void *user_data) {
    unary *u = user_data;
    u->count++;
    u->message.len = 0;
    return kiln_buf_append(&u->message, data, len);
}

/*
 * Packs request, calls path, and unpacks the response with descriptor.
 * Returns the unpacked message (free with protobuf_c_message_free_unpacked) or NULL.
 */
static ProtobufCMessage *unary_call(kiln_client *client, const char *path, const ProtobufCMessage *request,
                                    const ProtobufCMessageDescriptor *descriptor, kiln_error *err) {
    kiln_clear_error(err);
    if (!client) {
        kiln_set_error(err, KILN_INVALID_ARGUMENT, "client: NULL");
        return NULL;
    }
    size_t len = protobuf_c_message_get_packed_size(request);
    uint8_t *packed = malloc(len ? len : 1);
    if (!packed) {
        kiln_set_error(err, KILN_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    protobuf_c_message_pack(request, packed);
    unary u = {0};
    int rc = kiln_grpc_call(client, path, packed, len, kiln_client_timeout(client), collect, &u, err);
    free(packed);
    if (rc != 0) {
        kiln_buf_free(&u.message);
        return NULL;
    }
    if (u.count != 1) {
        kiln_buf_free(&u.message);
        kiln_set_error(err, KILN_INTERNAL, "%s: expected one response message, got %d", path, u.count);
        return NULL;
    }
    ProtobufCMessage *response = protobuf_c_message_unpack(descriptor, NULL, u.message.len, u.message.data);
    kiln_buf_free(&u.message);
    if (!response) kiln_set_error(err, KILN_INTERNAL, "%s: cannot decode the response", path);
    return response;
}

#define JOBS "/kiln.v1.JobService/"

/* Takes the job out of a response that holds one (field `job`), freeing the rest. */
#define TAKE_JOB(response, err)                                                                 \
    do {                                                                                        \
        if (!(response)) return NULL;                                                           \
        Kiln__V1__Job *job_ = (response)->job;                                                  \
        (response)->job = NULL;                                                                 \
        protobuf_c_message_free_unpacked(&(response)->base, NULL);                              \
        if (!job_) kiln_set_error((err), KILN_INTERNAL, "the response holds no job");           \
        return job_;                                                                            \
    } while (0)

void kiln_job_free(Kiln__V1__Job *job) {
    if (job) kiln__v1__job__free_unpacked(job, NULL);
}

Kiln__V1__Job *kiln_submit_job(kiln_client *client, const char *project, const char *job_type,
                               const char *subject, const char *const *params, const char *request_id,
                               kiln_error *err) {
    Kiln__V1__SubmitJobRequest request = KILN__V1__SUBMIT_JOB_REQUEST__INIT;
    request.project = (char *)(project ? project : "");
    request.job_type = (char *)(job_type ? job_type : "");
    request.subject = (char *)(subject ? subject : "");
    request.request_id = (char *)(request_id ? request_id : "");
    size_t n = 0;
    while (params && params[n] && params[n + 1]) n += 2;
    Kiln__V1__SubmitJobRequest__ParamsEntry *entries = NULL, **pointers = NULL;
    if (n) {
        entries = calloc(n / 2, sizeof *entries);
        pointers = calloc(n / 2, sizeof *pointers);
        if (!entries || !pointers) {
            free(entries);
            free(pointers);
            kiln_set_error(err, KILN_RESOURCE_EXHAUSTED, "out of memory");
            return NULL;
        }
        for (size_t i = 0; i < n / 2; i++) {
            kiln__v1__submit_job_request__params_entry__init(&entries[i]);
            entries[i].key = (char *)params[2 * i];
            entries[i].value = (char *)params[2 * i + 1];
            pointers[i] = &entries[i];
        }
        request.n_params = n / 2;
        request.params = pointers;
    }
    Kiln__V1__SubmitJobResponse *response = (Kiln__V1__SubmitJobResponse *)unary_call(
        client, JOBS "SubmitJob", &request.base, &kiln__v1__submit_job_response__descriptor, err);
    free(entries);
    free(pointers);
    TAKE_JOB(response, err);
}

Kiln__V1__Job *kiln_get_job(kiln_client *client, const char *id, kiln_error *err) {
    Kiln__V1__GetJobRequest request = KILN__V1__GET_JOB_REQUEST__INIT;
    request.id = (char *)(id ? id : "");
    Kiln__V1__GetJobResponse *response = (Kiln__V1__GetJobResponse *)unary_call(
        client, JOBS "GetJob", &request.base, &kiln__v1__get_job_response__descriptor, err);
    TAKE_JOB(response, err);
}

Kiln__V1__ListJobsResponse *kiln_list_jobs(kiln_client *client, const Kiln__V1__JobFilter *filter,
                                           int page_size, const char *page_token, kiln_error *err) {
    Kiln__V1__ListJobsRequest request = KILN__V1__LIST_JOBS_REQUEST__INIT;
    request.filter = (Kiln__V1__JobFilter *)filter;
    request.page_size = page_size;
    request.page_token = (char *)(page_token ? page_token : "");
    return (Kiln__V1__ListJobsResponse *)unary_call(client, JOBS "ListJobs", &request.base,
                                                    &kiln__v1__list_jobs_response__descriptor, err);
}

void kiln_list_jobs_response_free(Kiln__V1__ListJobsResponse *response) {
    if (response) kiln__v1__list_jobs_response__free_unpacked(response, NULL);
}

/*
 * PauseJob, ResumeJob, RestartJob and DiscardJob take requests of the same
 * shape and answer { Job job = 1; }: PauseJobRequest/Response stand for all
 * four on the wire.
 */
Kiln__V1__Job *kiln_job_action(kiln_client *client, Kiln__V1__JobAction action, const char *id,
                               long long expected_revision, const char *request_id, kiln_error *err) {
    const char *path;
    switch (action) {
    case KILN__V1__JOB_ACTION__JOB_ACTION_PAUSE: path = JOBS "PauseJob"; break;
    case KILN__V1__JOB_ACTION__JOB_ACTION_RESUME: path = JOBS "ResumeJob"; break;
    case KILN__V1__JOB_ACTION__JOB_ACTION_RESTART: path = JOBS "RestartJob"; break;
    case KILN__V1__JOB_ACTION__JOB_ACTION_DISCARD: path = JOBS "DiscardJob"; break;
    default:
        kiln_set_error(err, KILN_INVALID_ARGUMENT,
                       "action: expected PAUSE, RESUME, RESTART or DISCARD (kiln_delete_job deletes)");
        return NULL;
    }
    Kiln__V1__PauseJobRequest request = KILN__V1__PAUSE_JOB_REQUEST__INIT;
    request.id = (char *)(id ? id : "");
    request.request_id = (char *)(request_id ? request_id : "");
    if (expected_revision >= 0) {
        request._expected_revision_case = KILN__V1__PAUSE_JOB_REQUEST___EXPECTED_REVISION_EXPECTED_REVISION;
        request.expected_revision = expected_revision;
    }
    Kiln__V1__PauseJobResponse *response = (Kiln__V1__PauseJobResponse *)unary_call(
        client, path, &request.base, &kiln__v1__pause_job_response__descriptor, err);
    TAKE_JOB(response, err);
}

Kiln__V1__Job *kiln_pause_job(kiln_client *client, const char *id, long long expected_revision, kiln_error *err) {
    return kiln_job_action(client, KILN__V1__JOB_ACTION__JOB_ACTION_PAUSE, id, expected_revision, NULL, err);
}

Kiln__V1__Job *kiln_resume_job(kiln_client *client, const char *id, long long expected_revision, kiln_error *err) {
    return kiln_job_action(client, KILN__V1__JOB_ACTION__JOB_ACTION_RESUME, id, expected_revision, NULL, err);
}

Kiln__V1__Job *kiln_restart_job(kiln_client *client, const char *id, long long expected_revision, kiln_error *err) {
    return kiln_job_action(client, KILN__V1__JOB_ACTION__JOB_ACTION_RESTART, id, expected_revision, NULL, err);
}

Kiln__V1__Job *kiln_discard_job(kiln_client *client, const char *id, long long expected_revision, kiln_error *err) {
    return kiln_job_action(client, KILN__V1__JOB_ACTION__JOB_ACTION_DISCARD, id, expected_revision, NULL, err);
}

int kiln_delete_job(kiln_client *client, const char *id, long long expected_revision, kiln_error *err) {
    Kiln__V1__DeleteJobRequest request = KILN__V1__DELETE_JOB_REQUEST__INIT;
    request.id = (char *)(id ? id : "");
    if (expected_revision >= 0) {
        request._expected_revision_case = KILN__V1__DELETE_JOB_REQUEST___EXPECTED_REVISION_EXPECTED_REVISION;
        request.expected_revision = expected_revision;
    }
    ProtobufCMessage *response =
        unary_call(client, JOBS "DeleteJob", &request.base, &kiln__v1__delete_job_response__descriptor, err);
    if (!response) return -1;
    protobuf_c_message_free_unpacked(response, NULL);
    return 0;
}

Kiln__V1__ListJobTypesResponse *kiln_list_job_types(kiln_client *client, kiln_error *err) {
    Kiln__V1__ListJobTypesRequest request = KILN__V1__LIST_JOB_TYPES_REQUEST__INIT;
    return (Kiln__V1__ListJobTypesResponse *)unary_call(client, JOBS "ListJobTypes", &request.base,
                                                        &kiln__v1__list_job_types_response__descriptor, err);
}

void kiln_list_job_types_response_free(Kiln__V1__ListJobTypesResponse *response) {
    if (response) kiln__v1__list_job_types_response__free_unpacked(response, NULL);
}

int kiln_create_subject(kiln_client *client, const char *project, const char *name, const char *kind,
                        const char *schema, kiln_error *err) {
    Kiln__V1__CreateSubjectRequest request = KILN__V1__CREATE_SUBJECT_REQUEST__INIT;
    request.project = (char *)(project ? project : "");
    request.name = (char *)(name ? name : "");
    request.kind = (char *)(kind ? kind : "");
    request.schema = (char *)(schema ? schema : "");
    ProtobufCMessage *response = unary_call(client, "/kiln.v1.SubjectService/CreateSubject", &request.base,
                                            &kiln__v1__create_subject_response__descriptor, err);
    if (!response) return -1;
    protobuf_c_message_free_unpacked(response, NULL);
    return 0;
}

/* ---- watching ---- */

typedef struct watch {
    kiln_watch_fn callback;
    void *user_data;
    int bad; /* a message could not be decoded */
} watch;

static int on_watch_message(const uint8_t *data, size_t len, void *user_data) {
    watch *w = user_data;
    Kiln__V1__WatchJobsResponse *event = kiln__v1__watch_jobs_response__unpack(NULL, len, data);
    if (!event) {
        w->bad = 1;
        return 1;
    }
    int stop = w->callback(event, w->user_data);
    kiln__v1__watch_jobs_response__free_unpacked(event, NULL);
    return stop;
}

int kiln_watch_jobs(kiln_client *client, const Kiln__V1__JobFilter *filter, long long since_revision,
                    kiln_watch_fn callback, void *user_data, kiln_error *err) {
    kiln_clear_error(err);
    if (!client || !callback) {
        kiln_set_error(err, KILN_INVALID_ARGUMENT, "%s: NULL", client ? "callback" : "client");
        return -1;
    }
    Kiln__V1__WatchJobsRequest request = KILN__V1__WATCH_JOBS_REQUEST__INIT;
    request.filter = (Kiln__V1__JobFilter *)filter;
    if (since_revision >= 0) {
        request._since_revision_case = KILN__V1__WATCH_JOBS_REQUEST___SINCE_REVISION_SINCE_REVISION;
        request.since_revision = since_revision;
    }
    size_t len = protobuf_c_message_get_packed_size(&request.base);
    uint8_t *packed = malloc(len ? len : 1);
    if (!packed) {
        kiln_set_error(err, KILN_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    protobuf_c_message_pack(&request.base, packed);
    watch w = {callback, user_data, 0};
    int rc = kiln_grpc_call(client, JOBS "WatchJobs", packed, len, 0, on_watch_message, &w, err);
    free(packed);
    if (rc == 0 && w.bad) {
        kiln_set_error(err, KILN_INTERNAL, "WatchJobs: cannot decode a message");
        return -1;
    }
    return rc;
}
