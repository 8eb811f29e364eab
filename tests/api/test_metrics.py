"""`/metrics`: what an operator's Prometheus scrapes after some traffic."""

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import COURSE_RUN


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_after_traffic(client: TestClient) -> None:
    run_id = client.post("/v1/runs", json=COURSE_RUN).json()["id"]
    client.post("/v1/runs", json={**COURSE_RUN, "steps": -1})
    client.get(f"/v1/runs/{run_id}")
    with client.stream("GET", f"/v1/runs/{run_id}/events") as stream:
        assert sum(1 for line in stream.iter_lines() if line.startswith("event: step")) == 41
    metrics = samples(client)

    def value(name: str, **labels: str) -> float:
        return metrics.get((name, frozenset(labels.items())), 0.0)

    assert value("descent_http_requests_total", route="/v1/runs", method="POST", status="201") == 1
    assert value("descent_http_requests_total", route="/v1/runs", method="POST", status="422") == 1
    assert value("descent_http_requests_total", route="/v1/runs/{run_id}", method="GET", status="200") == 1
    assert value("descent_http_requests_total", route="/v1/runs/{run_id}/events", method="GET", status="200") == 1
    assert value("descent_http_request_duration_seconds_count", route="/v1/runs", method="POST") == 2
    assert value("descent_http_request_duration_seconds_count", route="/v1/runs/{run_id}/events", method="GET") == 0
    assert value("descent_runs", status="finished") == 1
    assert value("descent_runs", status="running") == 0
    assert value("descent_rows_computed_total") == 41
    assert value("descent_active_streams") == 0
    assert value("descent_pool_queue_depth") == 0
