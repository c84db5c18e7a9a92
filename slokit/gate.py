"""Release gates: may a new version take more traffic? The error budget decides, through Prometheus.

Each SLO's gate (slokit/spec/gate.py) becomes checks, each one instant query against a Prometheus-compatible
API, each with a status:

- budget: `slo:period_error_budget_remaining:ratio` (from the generated rules) >= min_remaining;
- burn: the SLI's error ratio / error budget over each window; fails when *every* window is above `max`
  (multiwindow, as the alerts: the long window says it matters, the short one that it is still happening);
- canary: bad/total events of the canary and the baseline (split by a label) over a window, compared
  with a one-sided Fisher's exact test (see `fisher_greater`);
- stop: the canary's error ratio stayed above a threshold for a whole duration (`min_over_time` of a subquery).

A check that cannot tell (source down, no series, NaN, too little traffic) is "undecided". The verdict is
"fail" if any check failed, else "undecided" if any could not tell, else "pass": never a pass on missing data.
Exit codes: 0 pass, 1 fail, 2 undecided.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import requests

from slokit import names, promql
from slokit.generate import rules
from slokit.promapi import QueryError, instant_query
from slokit.spec.gate import Canary, GateSpec, gate_spec
from slokit.spec.model import SLO, HttpSLI, LatencySLI

PASS, FAIL, UNDECIDED = "pass", "fail", "undecided"
EXIT_CODES = {PASS: 0, FAIL: 1, UNDECIDED: 2}


Query = Callable[[str], list[tuple[dict[str, str], float]]]  # PromQL -> [(labels, value)]


@dataclass
class Check:
    slo: str
    check: str  # budget | burn | canary | stop
    status: str
    detail: str
    query: str | list[str]
    value: Any = None
    threshold: Any = None


@dataclass
class Report:
    verdict: str
    checks: list[Check] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def line(self) -> str:
        """The one-line verdict: counts and the checks that decided it."""
        counts = {s: sum(1 for c in self.checks if c.status == s) for s in (PASS, FAIL, UNDECIDED)}
        deciding = [c for c in self.checks if c.status == self.verdict and self.verdict != PASS]
        why = "; ".join(f"{c.slo} {c.check}: {c.detail}" for c in deciding[:3])
        text = f"gate {self.verdict.upper()}: {counts[PASS]} passed, {counts[FAIL]} failed, {counts[UNDECIDED]} undecided"
        return text + (f" ({why})" if why else "")

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "exit_code": self.exit_code, "summary": self.line(),
                "checks": [asdict(c) for c in self.checks]}


def verdict(checks: Sequence[Check]) -> str:
    statuses = {c.status for c in checks}
    if FAIL in statuses:
        return FAIL
    if UNDECIDED in statuses or not checks:
        return UNDECIDED
    return PASS


# -- the statistics -----------------------------------------------------------------------------------------

def fisher_greater(bad_a: int, total_a: int, bad_b: int, total_b: int) -> float:
    """One-sided p-value of Fisher's exact test that A's bad ratio is greater than B's.

    Why Fisher and not a two-proportion z-test: SLO error ratios are small (0.1%), so a canary's expected
    bad count is often below 5, where the z-test's normal approximation is wrong (too many false alarms
    or misses). Fisher's test is exact for any count: P(X >= bad_a) for X hypergeometric with the margins
    of the 2x2 table fixed.
    """
    n, k, draws = total_a + total_b, bad_a + bad_b, total_a
    if n == 0 or k == 0 or draws == 0:
        return 1.0

    def log_pmf(x: int) -> float:
        return _log_comb(k, x) + _log_comb(n - k, draws - x) - _log_comb(n, draws)

    low, top = max(0, draws - (n - k)), min(k, draws)
    if bad_a <= low:  # the whole support: certainly not worse
        return 1.0
    return min(1.0, sum(math.exp(log_pmf(x)) for x in range(bad_a, top + 1)))


def _log_comb(n: int, r: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(r + 1) - math.lgamma(n - r + 1)


# -- queries from the spec ----------------------------------------------------------------------------------

def counts_queries(slo: SLO, window: int, matchers: Mapping[str, str], by: str | None = None,
                   regex: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Bad and total event counts (`increase`) over `window`, restricted by `matchers` (exact) and `regex`,
    optionally `sum by` a label. Only http and latency SLIs: slokit knows their series, so it can split them."""
    w = promql.format_duration(window)
    agg = f"sum by ({by}) " if by else "sum"
    sli = slo.sli
    if isinstance(sli, HttpSLI):
        labels = {"service": sli.service, **({"route": sli.route} if sli.route else {}),
                  **({"method": sli.method} if sli.method else {})}
        labels.update(matchers)
        series, threshold = names.HTTP_SERVER_DURATION, sli.latency
        counted = {"outcome": "|".join(names.COUNTED_OUTCOMES)}
    elif isinstance(sli, LatencySLI):
        labels = {k: v for k, v in {**sli.matchers, **matchers}.items() if k not in (regex or {})}
        series, threshold, counted = sli.histogram, sli.threshold, {}
    else:
        raise TypeError(f"no per-label counts for {type(sli).__name__} SLIs")
    regex = dict(regex or {})
    total = f"{agg}(increase({series}_count{promql.selector(labels, {**counted, **regex})}[{w}]))"
    if threshold is None:  # availability: requests the middleware classified bad
        bad = promql.selector({**labels, "outcome": names.BAD}, regex)
        return f"{agg}(increase({series}_count{bad}[{w}]))", total
    fast = promql.selector(labels, {**counted, **regex, "le": promql.le_regex(threshold)})
    return f"{total}\n-\n{agg}(increase({series}_bucket{fast}[{w}]))", total


def ratio_query(slo: SLO, window: int, matchers: Mapping[str, str] | None = None) -> str:
    """The SLI's error ratio over `window` (all traffic, or only the series matching `matchers`)."""
    if not isinstance(slo.sli, (HttpSLI, LatencySLI)):
        return promql.render_window(rules.ratio_query(slo), promql.format_duration(window))
    bad, total = counts_queries(slo, window, matchers or {})
    # a service that never failed has no `outcome="bad"` series: its ratio is 0, not "no data"
    return f"(\n{bad}\nor vector(0)\n)\n/\n(\n{total}\n)"


# -- the checks ---------------------------------------------------------------------------------------------

def _single(query: Query, promql_text: str) -> float | None:
    """One number from an instant query; None when there is no series or only NaN (no traffic)."""
    values = [v for _, v in query(promql_text) if not math.isnan(v)]
    return values[0] if len(values) == 1 else None


def budget_check(slo: SLO, spec: GateSpec, query: Query) -> Check:
    q = rules.BUDGET_REMAINING + rules.slo_selector(slo)
    threshold = spec.min_budget_remaining
    value = _single(query, q)
    if value is None:
        return Check(slo.id, "budget", UNDECIDED, "no budget series (are the generated rules loaded?)", q, None,
                     threshold)
    ok = value >= threshold
    return Check(slo.id, "budget", PASS if ok else FAIL,
                 f"{value:.1%} of the error budget left ({'>=' if ok else '<'} {threshold:.1%})", q, value, threshold)


def burn_check(slo: SLO, spec: GateSpec, query: Query) -> Check:
    budget = promql.float_literal(slo.error_budget)
    queries = [f"({ratio_query(slo, w)})\n/ {budget}" for w in spec.burn_windows]
    names = [promql.format_duration(w) for w in spec.burn_windows]
    values = [_single(query, q) for q in queries]
    by_window = dict(zip(names, values))
    if any(v is None for v in values):
        missing = ", ".join(n for n, v in by_window.items() if v is None)
        return Check(slo.id, "burn", UNDECIDED, f"no burn rate over {missing} (no traffic or no series)", queries,
                     by_window, spec.max_burn)
    over = all(v > spec.max_burn for v in values)  # type: ignore[operator]
    shown = ", ".join(f"{n} {v:.2f}x" for n, v in by_window.items())
    return Check(slo.id, "burn", FAIL if over else PASS,
                 f"burn {shown} ({'all above' if over else 'not all above'} {spec.max_burn:g}x)", queries, by_window,
                 spec.max_burn)


def _side_counts(rows: list[tuple[dict[str, str], float]], label: str) -> dict[str, float]:
    return {labels.get(label, ""): value for labels, value in rows if not math.isnan(value)}


def canary_check(slo: SLO, canary: Canary, query: Query) -> Check:
    bad_q, total_q = counts_queries(slo, canary.window, {}, by=canary.label, regex={
        canary.label: "|".join(re.escape(v) for v in (canary.canary, canary.baseline))})
    bad, total = _side_counts(query(bad_q), canary.label), _side_counts(query(total_q), canary.label)
    status, detail, value = compare(canary, bad, total)
    threshold = {"min_requests": canary.min_requests, "confidence": canary.confidence, "tolerance": canary.tolerance}
    return Check(slo.id, "canary", status, detail, [bad_q, total_q], value, threshold)


def compare(canary: Canary, bad: Mapping[str, float], total: Mapping[str, float]) -> tuple[str, str, dict[str, Any]]:
    """(status, detail, values) from bad and total counts per label value: minimum requests on both sides,
    then the one-sided Fisher test and the tolerance. Pure: `slokit simulate --rollout` uses it too."""
    value: dict[str, Any] = {}
    for side, name in (("canary", canary.canary), ("baseline", canary.baseline)):
        t = round(total.get(name, 0.0))
        b = min(max(round(bad.get(name, 0.0)), 0), t)
        value[side] = {"total": t, "bad": b, "ratio": b / t if t else None}
    short = [s for s in ("canary", "baseline") if value[s]["total"] < canary.min_requests]
    if short:
        detail = ", ".join(f"{s} {value[s]['total']} requests" for s in short)
        return UNDECIDED, (f"too little traffic to compare: {detail} "
                           f"(< {canary.min_requests} in {promql.format_duration(canary.window)})"), value
    c, b = value["canary"], value["baseline"]
    p = fisher_greater(c["bad"], c["total"], b["bad"], b["total"])
    value["p_value"] = p
    worse = p < 1 - canary.confidence and c["ratio"] - b["ratio"] > canary.tolerance
    detail = (f"canary {c['ratio']:.3%} vs baseline {b['ratio']:.3%} bad ({c['total']} vs {b['total']} requests), "
              f"one-sided Fisher p={p:.3g}: " + ("significantly worse" if worse else "not significantly worse"))
    return (FAIL if worse else PASS), detail, value


def stop_check(slo: SLO, spec: GateSpec, query: Query) -> Check:
    stop = spec.stop
    assert stop is not None
    step = max(1, stop.for_ // 4)  # at least four points in `for`, as "consecutive" needs
    inner = max(30, 2 * step)  # each point a rate over two steps, and never under 30s (two scrapes at 15s)
    matchers = {spec.canary.label: spec.canary.canary} if spec.canary else None
    q = (f"min_over_time((\n{ratio_query(slo, inner, matchers)}\n)[{promql.format_duration(stop.for_)}:"
         f"{promql.format_duration(step)}])")
    value = _single(query, q)
    who = "canary" if spec.canary else "error"
    if value is None:
        return Check(slo.id, "stop", UNDECIDED, f"no {who} ratio over the last {promql.format_duration(stop.for_)}",
                     q, None, stop.error_ratio)
    stopped = value > stop.error_ratio
    return Check(slo.id, "stop", FAIL if stopped else PASS,
                 f"{who} ratio {'stayed above' if stopped else 'was not always above'} {stop.error_ratio:.3%} for "
                 f"{promql.format_duration(stop.for_)} (lowest {value:.3%})", q, value, stop.error_ratio)


def evaluate(slos: Sequence[SLO], query: Query, canary: Mapping[str, Any] | None = None) -> Report:
    """Every check of every SLO. `canary` fields (from the command line or a webhook) override the specs'
    canary sections, and add one to http/latency SLOs that have none."""
    checks: list[Check] = []
    for slo in slos:
        spec = gate_spec(slo)
        if canary and isinstance(slo.sli, (HttpSLI, LatencySLI)):
            spec = replace(spec, canary=replace(spec.canary or Canary(), **canary))
        for name, run in _checks(spec):
            asked: list[str] = []  # the queries sent, for the report even when the source fails
            try:
                checks.append(run(slo, spec, _recording(query, asked)))
            except QueryError as exc:
                checks.append(Check(slo.id, name, UNDECIDED, f"source cannot answer: {exc}",
                                    asked[0] if len(asked) == 1 else asked))
    return Report(verdict(checks), checks)


def _recording(query: Query, asked: list[str]) -> Query:
    def recorded(text: str) -> list[tuple[dict[str, str], float]]:
        asked.append(text)
        return query(text)
    return recorded


def _checks(spec: GateSpec) -> list[tuple[str, Callable[[SLO, GateSpec, Query], Check]]]:
    out: list[tuple[str, Callable[[SLO, GateSpec, Query], Check]]] = []
    if spec.min_budget_remaining is not None:
        out.append(("budget", budget_check))
    out.append(("burn", burn_check))
    if spec.canary is not None:
        out.append(("canary", lambda slo, s, q: canary_check(slo, s.canary, q)))  # type: ignore[arg-type]
    if spec.stop is not None:
        out.append(("stop", stop_check))
    return out


# -- the source ---------------------------------------------------------------------------------------------

def prometheus_query(url: str, timeout: float = 5.0, headers: Mapping[str, str] | None = None,
                     session: requests.Session | None = None) -> Query:
    """An instant-query function over `/api/v1/query`; every fault becomes QueryError (never a pass)."""
    http = session or requests.Session()

    def query(text: str) -> list[tuple[dict[str, str], float]]:
        try:
            result = instant_query(url, text, timeout, headers, http)
            try:
                return [(dict(r["metric"]), float(r["value"][1])) for r in result]
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise QueryError("garbage", f"unusable answer: {exc}") from exc
        except QueryError as exc:
            raise QueryError(exc.reason, f"{url}: {exc}") from exc

    return query


# -- progressive delivery protocols (`slokit gate --serve`) ------------------------------------------------

CANARY_FIELDS = {"label": str, "canary": str, "baseline": str, "window": promql.parse_duration,
                 "min_requests": int, "confidence": float, "tolerance": float}
# Flagger reads only the status: 2xx passes. A fail and an undecided are both non-2xx (never a pass), told
# apart for people reading Flagger's events: 412 the gate failed, 503 it could not decide.
FLAGGER_STATUS = {PASS: 200, FAIL: 412, UNDECIDED: 503}


def overrides(params: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """SLO ids (`slo`, comma-separated) and canary fields from a webhook's metadata or query string."""
    slos = [s for s in str(params.get("slo", "")).split(",") if s]
    canary = {k: convert(str(params[k])) for k, convert in CANARY_FIELDS.items() if params.get(k) not in (None, "")}
    return slos, canary


def make_server(run: Callable[[list[str], dict[str, Any]], Report], host: str = "127.0.0.1",
                port: int = 0) -> Any:
    """An HTTP server answering Flagger webhooks (POST /flagger) and Argo Rollouts' web provider (/argo).

    `run(slo_ids, canary_overrides)` evaluates the gate on each call: nothing is cached, so every analysis
    step of the rollout sees fresh data.
    """
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qsl, urlsplit

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, sort_keys=True).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            if not length:
                return {}
            body = json.loads(self.rfile.read(min(length, 1 << 20)) or b"{}")
            return body if isinstance(body, dict) else {}

        def _handle(self, post: bool) -> None:
            url = urlsplit(self.path)
            params: dict[str, Any] = dict(parse_qsl(url.query))
            try:
                body = self._body() if post else {}
                if url.path == "/flagger":  # Flagger posts {name, namespace, phase, metadata: {...}}
                    params.update(body.get("metadata") or {})
                else:
                    params.update(body)
                slos, canary = overrides(params)
            except (ValueError, TypeError) as exc:
                self._answer(400, {"error": str(exc)})
                return
            if url.path == "/healthz":
                self._answer(200, {"status": "ok"})
            elif url.path == "/flagger" and post:
                report = run(slos, canary)
                self._answer(FLAGGER_STATUS[report.verdict], report.to_json())
            elif url.path == "/argo":  # always 200: the verdict is in the JSON, for jsonPath "{$.verdict}"
                self._answer(200, run(slos, canary).to_json())
            else:
                self._answer(404, {"error": "POST /flagger, GET or POST /argo, GET /healthz"})

        def do_GET(self) -> None:
            self._handle(False)

        def do_POST(self) -> None:
            self._handle(True)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the verdicts are the log
            pass

    return ThreadingHTTPServer((host, port), Handler)
