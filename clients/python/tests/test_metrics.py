"""kilnd's Prometheus endpoint, read by Prometheus' own Python parser (prometheus_client)."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

import kiln
from conftest import Kilnd, eventually, job_in

def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape, by name and sorted labels; fails on text Prometheus cannot parse."""
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        assert family.documentation, f"{family.name} has no HELP text"
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_a_scrape_parses_and_counts_move_with_the_calls(metered: tuple[Kilnd, str]) -> None:
    server, url = metered
    with server.client() as admin:
        admin.create_project("metered")
        admin.create_subject("s", "metered", kind="model")
        admin.create_subject("t", "metered", kind="model")
        done = admin.submit_job("metered", "INDEX_BUILD", "s", params={"sleep_ms": "0"})
        held = admin.submit_job("metered", "INDEX_BUILD", "t", params={"sleep_ms": "600000"})
        job_in(admin, held.id, kiln.JobStatus.RUNNING)
        admin.pause(held.id)
        job_in(admin, done.id, kiln.JobStatus.FINISHED)

    def counted() -> dict:
        samples = scrape(url)
        jobs = {
            status: samples.get(("kiln_jobs", (("project", "metered"), ("status", status))))
            for status in ("FINISHED", "PAUSED", "RUNNING")
        }
        return samples if jobs == {"FINISHED": 1.0, "PAUSED": 1.0, "RUNNING": 0.0} else {}

    samples = eventually(counted, 30, "kiln_jobs to count one FINISHED and one PAUSED job in project metered")
    # prometheus_client names a counter's sample with its _total suffix.
    submitted = samples[(
        "grpc_server_handled_total",
        (("grpc_code", "OK"), ("grpc_method", "SubmitJob"), ("grpc_service", "kiln.v1.JobService"), ("grpc_type", "unary")),
    )]
    assert submitted == 2
    assert samples[("kiln_revision", ())] >= max(done.revision, held.revision)
    assert samples[("process_resident_memory_bytes", ())] > 1_000_000
