"""The gate's checks on odd inputs: no traffic with --min-requests 0, a canary asked of an SLI that cannot
be split by version, counts no Prometheus writes. Each must end undecided or refused, never pass or crash."""

from __future__ import annotations

from click.testing import CliRunner

from slokit import gate
from slokit.cli import main
from slokit.spec.gate import Canary
from slokit.spec.loader import load

SPEC = """\
version: slokit/v1
service: shop
slos:
  - name: availability
    objective: 99.9
    sli:
      http: {route: /pay}
  - name: jobs
    objective: 99
    sli:
      events:
        error_query: sum(rate(jobs_failed_total[{{.window}}]))
        total_query: sum(rate(jobs_total[{{.window}}]))
"""


def healthy(canary: float = 0.0, baseline: float = 0.0):
    """A query function: budget left, no burn, and these request counts per version (bad ones: none)."""
    def query(text: str) -> list[tuple[dict[str, str], float]]:
        if text.startswith("slo:period_error_budget_remaining"):
            return [({}, 1.0)]
        if text.startswith("sum by (version)"):
            bad = 'outcome="bad"' in text
            return [({"version": "v2"}, 0.0 if bad else canary), ({"version": "v1"}, 0.0 if bad else baseline)]
        return [({}, 0.0)]
    return query


def test_no_traffic_is_too_little_to_compare_even_with_min_requests_zero():
    status, detail, value = gate.compare(Canary(canary="v2", baseline="v1", min_requests=0), {}, {})
    assert status == gate.UNDECIDED and "too little traffic" in detail
    assert value["canary"] == {"total": 0, "bad": 0, "ratio": None}


def test_a_canary_asked_of_an_events_sli_is_undecided_never_silently_dropped(write_spec):
    slos = load([str(write_spec(SPEC))]).slos
    report = gate.evaluate(slos, healthy(500, 5000), {"canary": "v2", "baseline": "v1"})
    checks = {(c.slo, c.check): c.status for c in report.checks}
    assert checks[("shop-availability", "canary")] == gate.PASS
    assert checks[("shop-jobs", "canary")] == gate.UNDECIDED
    assert report.verdict == gate.UNDECIDED and report.exit_code == 3


def test_the_command_refuses_canary_flags_for_an_events_sli(write_spec):
    path = str(write_spec(SPEC))
    result = CliRunner().invoke(main, ["gate", path, "--prometheus", "http://127.0.0.1:9", "--canary", "v2",
                                       "--baseline", "v1"])
    assert result.exit_code == 2, result.output
    assert "shop-jobs cannot (events or raw SLIs); choose the others with --slo" in result.output
    chosen = CliRunner().invoke(main, ["gate", path, "--prometheus", "http://127.0.0.1:9", "--canary", "v2",
                                       "--baseline", "v1", "--slo", "shop-availability", "--timeout", "0.2"])
    assert chosen.exit_code == 3, chosen.output  # accepted; Prometheus is down: cannot decide


def test_an_infinite_or_negative_request_count_is_undecided(write_spec):
    slos = [s for s in load([str(write_spec(SPEC))]).slos if s.name == "availability"]
    for count in (float("inf"), -3.0):
        report = gate.evaluate(slos, healthy(count, 5000), {"canary": "v2", "baseline": "v1"})
        [canary] = [c for c in report.checks if c.check == "canary"]
        assert canary.status == gate.UNDECIDED and "requests counted for version='v2'" in canary.detail


def test_the_webhook_server_answers_400_to_a_body_it_cannot_read():
    import http.client
    import threading

    calls: list[object] = []
    server = gate.make_server(lambda ids, fields: calls.append(fields) or gate.Report(gate.UNDECIDED), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        for body, length in ((b"[" * 200_000 + b"]" * 200_000, None), (b"{}", "abc"), (b"{}", "-1")):
            conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
            conn.putrequest("POST", "/flagger")
            conn.putheader("Content-Length", length or str(len(body)))
            conn.endheaders(body)
            answer = conn.getresponse()
            assert answer.status == 400, (length, answer.read())
            conn.close()
        assert calls == []
    finally:
        server.shutdown()
        server.server_close()
