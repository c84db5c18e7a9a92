"""`slokit convert`: every real Sloth, Pyrra and OpenSLO file converts to slokit/v1 that reads back into the same
SLOs and generates the same rules; comments stay; OpenSLO v1 out where expressible."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from slokit.cli import main
from slokit.generate.files import rule_files
from slokit.spec import load
from tests.conftest import COMPAT, EXAMPLES
from tests.test_compat import ACCEPTED


def convert(*args: str):
    return CliRunner().invoke(main, ["convert", *args])


def same_slos(a, b):
    """SLOs equal but for where they were read from (a CRD's metadata has no slokit/v1 field)."""
    return [replace(s, k8s=None) for s in a] == [replace(s, k8s=None) for s in b]


def rules(spec) -> dict[str, object]:
    files, _ = rule_files(spec)
    return {name: yaml.safe_load(text) for name, text in files.items()}


FOREIGN = sorted(n for n in ACCEPTED if not n.startswith("sloth/golden/"))


@pytest.mark.parametrize("name", FOREIGN)
def test_each_file_converts_to_slokit_v1_with_the_same_slos_and_rules(name, tmp_path):
    source = COMPAT / name
    result = convert(str(source), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    converted = tmp_path / source.name
    before, after = load([str(source)]), load([str(converted)])
    assert after.warnings == ()  # slokit/v1 out: nothing unknown, nothing ignored
    assert {s.source.format for s in after.slos if s.source} == {"slokit/v1"}
    assert same_slos(before.slos, after.slos)
    assert rules(before) == rules(after)


def test_a_folder_converts_into_a_folder_of_the_same_names(tmp_path):
    result = convert(str(COMPAT / "pyrra"), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    names = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.yaml"))
    assert names == sorted(str(p.relative_to(COMPAT / "pyrra")) for p in (COMPAT / "pyrra").rglob("*.yaml"))
    assert "SLO(s) from 27 file(s)" in result.output


def test_comments_above_documents_and_slos_are_kept(tmp_path):
    result = convert(str(COMPAT / "sloth" / "k8s-home-wifi.yml"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# This example shows the same example as home-wifi.yml but using Sloth "
                                    "Kubernetes CRD.\n")
    assert ("# good-wifi-client-satisfaction: from sloth.slok.dev/v1 object monitoring/sloth-slo-home-wifi (its "
            "PrometheusRule labels: app=sloth, prometheus=prometheus, role=alert-rules" in result.output)
    pyrra = convert(str(COMPAT / "pyrra" / "nginx.yaml")).output
    assert "  # Latency\n  - name: nginx-api-latency\n" in pyrra  # the comment above the second object


def test_pyrra_and_sloth_28d_tables_are_written_as_windows(tmp_path):
    pyrra = yaml.safe_load(convert(str(COMPAT / "pyrra" / "nginx.yaml")).output)
    assert pyrra["windows"]["page"] == [{"long": "1h", "short": "5m", "factor": 14, "for": "2m"},
                                        {"long": "6h", "short": "30m", "factor": 7, "for": "15m"}]
    absent = pyrra["slos"][0]["alerting"]["no_data"]  # Pyrra's absent alert: the no-data guard, as Pyrra names it
    assert absent == {"enabled": True, "severity": "page", "for": absent["for"], "name": "SLOMetricAbsent",
                      "labels": {"severity": "critical"}}
    sloth = yaml.safe_load(convert(str(COMPAT / "sloth" / "golden" / "in-base.yaml"), "--default-slo-period",
                                   "28d").output)
    assert sloth["period"] == "28d"
    assert sloth["windows"]["page"] == [{"long": "1h", "short": "5m", "budget_percent": 2},
                                        {"long": "6h", "short": "30m", "budget_percent": 5}]


def test_slokit_files_are_copied_and_inputs_never_overwritten(tmp_path):
    out = tmp_path / "out"
    assert convert(str(EXAMPLES / "checkout.yml"), "--out", str(out)).exit_code == 0
    assert (out / "checkout.yml").read_text() == (EXAMPLES / "checkout.yml").read_text()
    copy = tmp_path / "pyrra.yaml"
    copy.write_text((COMPAT / "pyrra" / "nginx.yaml").read_text())
    result = convert(str(copy), "--out", str(tmp_path))
    assert result.exit_code != 0 and "would overwrite the input" in result.output
    assert copy.read_text() == (COMPAT / "pyrra" / "nginx.yaml").read_text()


def test_invalid_input_converts_nothing(tmp_path):
    result = convert(str(COMPAT / "sloth" / "victoria-metrics.yml"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "invalid PromQL" in result.output
    assert not (tmp_path / "out").exists()


def test_to_openslo_reads_back_as_the_same_indicator(tmp_path):
    source = COMPAT / "pyrra" / "thanos-http.yaml"
    result = convert(str(source), "--to", "openslo", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    (before,), (after,) = load([str(source)]).slos, load([str(tmp_path / source.name)]).slos
    assert after.source and after.source.format == "openslo/v1"
    assert (after.key, after.objective, after.period, after.sli) == (before.key, before.objective, before.period,
                                                                     before.sli)
    text = (tmp_path / source.name).read_text()
    assert "# windows: this SLO's own window table has no OpenSLO form" in text  # Pyrra's table: said, not lost


def test_what_openslo_cannot_say_is_refused(write_spec):
    raw = write_spec("""
        version: prometheus/v1
        service: wifi
        slos:
          - name: satisfaction
            objective: 95
            sli: {raw: {error_ratio_query: '1 - avg_over_time(wifi_ok[{{.window}}])'}}
    """)
    result = convert(str(raw), "--to", "openslo")
    assert result.exit_code == 2
    assert f"{raw}:4: SLO 'wifi-satisfaction': a raw error-ratio SLI has no OpenSLO form" in result.output


def test_slokit_http_slis_become_openslo_queries_over_the_middlewares_series(tmp_path):
    result = convert(str(EXAMPLES / "checkout.yml"), "--to", "openslo")
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(result.output))
    assert docs and all(d["apiVersion"] == "openslo/v1" and d["kind"] == "SLO" for d in docs)
    out = Path(tmp_path / "checkout.yaml")
    out.write_text(result.output)
    assert len(load([str(out)]).slos) == len(docs)
