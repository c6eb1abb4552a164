/*
 * kiln-c: a small command-line example of the Kiln C client.
 *
 *   kiln-c submit PROJECT TYPE SUBJECT [KEY=VALUE...]
 *   kiln-c get ID | pause ID | resume ID | discard ID
 *   kiln-c watch [SINCE_REVISION]
 *
 * Connects with KILN_ADDR and KILN_TOKEN or KILN_TOKEN_FILE. Exit status:
 * 0, 1 for a failed call (code and message on stderr), 2 for bad usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln.h"

static void print_job(const Kiln__V1__Job *job) {
    printf("%s %s %s/%s/%s revision=%lld progress=%d\n", job->id, kiln_job_status_name(job->status),
           job->project, job->job_type, job->subject, (long long)job->revision, job->progress);
}

static int on_event(const Kiln__V1__WatchJobsResponse *event, void *user_data) {
    (void)user_data;
    printf("%s revision=%lld", kiln_watch_kind_name(event->kind), (long long)event->revision);
    if (event->job) printf(" %s %s", event->job->id, kiln_job_status_name(event->job->status));
    printf("\n");
    fflush(stdout);
    return 0;
}

static int fail(const kiln_error *err) {
    fprintf(stderr, "kiln-c: %s: %s\n", kiln_code_name(err->code), err->message);
    return 1;
}

static int usage(void) {
    fprintf(stderr, "usage: kiln-c submit PROJECT TYPE SUBJECT [KEY=VALUE...]\n"
                    "       kiln-c get|pause|resume|discard ID\n"
                    "       kiln-c watch [SINCE_REVISION]\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *cmd = argv[1];
    kiln_error err;
    kiln_client *client = kiln_connect_env(&err);
    if (!client) return fail(&err);
    int status = 0;
    Kiln__V1__Job *job = NULL;
    if (strcmp(cmd, "submit") == 0 && argc >= 5) {
        /* KEY=VALUE arguments become a NULL-terminated key, value, ... array. */
        int n = argc - 5;
        char **params = calloc((size_t)(2 * n + 1), sizeof *params);
        char **copies = calloc((size_t)(n + 1), sizeof *copies);
        for (int i = 0; params && copies && i < n; i++) {
            copies[i] = strdup(argv[5 + i]);
            char *eq = copies[i] ? strchr(copies[i], '=') : NULL;
            if (!eq) {
                status = usage();
                break;
            }
            *eq = '\0';
            params[2 * i] = copies[i];
            params[2 * i + 1] = eq + 1;
        }
        if (status == 0) {
            job = kiln_submit_job(client, argv[2], argv[3], argv[4], (const char *const *)params, NULL, &err);
            status = job ? 0 : fail(&err);
        }
        for (int i = 0; copies && i < n; i++) free(copies[i]);
        free(copies);
        free(params);
    } else if (argc == 3 && strcmp(cmd, "get") == 0) {
        job = kiln_get_job(client, argv[2], &err);
        status = job ? 0 : fail(&err);
    } else if (argc == 3 && strcmp(cmd, "pause") == 0) {
        job = kiln_pause_job(client, argv[2], -1, &err);
        status = job ? 0 : fail(&err);
    } else if (argc == 3 && strcmp(cmd, "resume") == 0) {
        job = kiln_resume_job(client, argv[2], -1, &err);
        status = job ? 0 : fail(&err);
    } else if (argc == 3 && strcmp(cmd, "discard") == 0) {
        job = kiln_discard_job(client, argv[2], -1, &err);
        status = job ? 0 : fail(&err);
    } else if ((argc == 2 || argc == 3) && strcmp(cmd, "watch") == 0) {
        long long since = argc == 3 ? atoll(argv[2]) : -1;
        status = kiln_watch_jobs(client, NULL, since, on_event, NULL, &err) == 0 ? 0 : fail(&err);
    } else {
        status = usage();
    }
    if (job) print_job(job);
    kiln_job_free(job);
    kiln_close(client);
    return status;
}
