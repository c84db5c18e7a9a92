"""The `slokit` command. I/O lives here; everything it calls is pure."""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import click

from slokit import __version__, promql
from slokit.apply import alertmanager as silences
from slokit.generate import files as generated
from slokit.generate.dashboards import DashboardError
from slokit.generate.rules import FORMATS
from slokit.spec import Problem, Spec, SpecError, load
from slokit.spec import alertmanager as silence_groups
from slokit.spec.source import Doc, read_documents

EXIT_INVALID = 2


def read_specs(paths: tuple[str, ...]) -> Spec:
    """Load specs or print every problem (file:line: field: message) and exit 2."""
    try:
        spec = load(paths)
    except SpecError as exc:
        exit_invalid(exc)
    for warning in spec.warnings:
        click.echo(warning, err=True)
    if not spec.slos:  # an empty folder or a typo in a path is a mistake, not a success
        click.echo(f"no SLOs found in {', '.join(paths)}; nothing written", err=True)
        sys.exit(EXIT_INVALID)
    return spec


def exit_invalid(exc: SpecError, outcome: str = "nothing written") -> NoReturn:
    """Print every problem (file:line: field: message) and exit 2."""
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    errors = sum(1 for p in exc.problems if not p.warning)
    click.echo(f"{errors} error(s); {outcome}", err=True)
    sys.exit(EXIT_INVALID)


def write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slokit")
def main() -> None:
    """slokit: SLO specs to Prometheus rules, alerts and their promtool tests, Alertmanager routing and
    silences, Grafana dashboards, release gates; and burn-rate driven decisions at run time.

    \b
    Examples:
      slokit validate slos/
      slokit generate slos/ --out build/
      promtool check rules build/rules/*.yml
      promtool test rules build/rules/tests/*.test.yml
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths: tuple[str, ...]) -> None:
    """Check spec files (slokit/v1, Sloth prometheus/v1, OpenSLO v1) and folders of them.

    Exits 0 when every spec is valid, 2 with file:line: field: message for each problem. Runtime
    `policy:` sections inside specs are checked too.

    \b
    Example:
      slokit validate examples/ ../sloth-specs/home-wifi.yml
    """
    from slokit.runtime.policy import policy_from_specs

    spec = read_specs(paths)
    try:
        policy_from_specs(spec.slos)
    except SpecError as exc:
        exit_invalid(exc, "invalid policy")
    click.echo(f"{len(spec.slos)} SLO(s) valid in {len({s.source.file for s in spec.slos if s.source})} file(s)")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", default="build", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write into (rules/ and rules/tests/ below it).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="prometheus", show_default=True,
              help="Rules as plain Prometheus rule files, a PrometheusRule CRD, or a Mimir/Cortex ruler namespace.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the files on disk differ from what would be generated.")
@click.option("--alertmanager-base", "am_base", type=click.Path(exists=True, dir_okay=False),
              help="Your alertmanager.yml: alertmanager/alertmanager.yml is it plus the silence groups' routes, "
                   "inhibit rules and time intervals (a re-run replaces slokit's parts, keeps yours).")
@click.option("--dashboards-jsonnet", "dashboards_entry", type=click.Path(dir_okay=False), default=None,
              help="Your jsonnet entry for OUT/dashboards/*.json (a function(model) that may import "
                   "'slokit.libsonnet'; default: slokit's dashboards/lib/main.jsonnet).")
def generate(paths: tuple[str, ...], out: str, fmt: str, check: bool, am_base: str | None,
             dashboards_entry: str | None) -> None:
    """Generate rules, promtool tests, Alertmanager config, dashboards and delivery templates from specs.

    Writes OUT/rules/<service>.yml, OUT/rules/tests/<service>.test.yml, OUT/alertmanager/alertmanager.yml
    (when specs name silence groups), OUT/dashboards/*.json and OUT/delivery/ (Argo Rollouts, Flagger).

    Output is deterministic: the same specs give byte-identical files, so they can be committed and
    checked in CI with --check.

    \b
    Examples:
      slokit generate examples/ --out build/
      slokit generate slos/ --out deploy/ --format prometheus-operator
      slokit generate examples/ --out . --check     # CI: fail on drift
      slokit generate slos/ --out build/ --alertmanager-base /etc/alertmanager/alertmanager.yml
    """
    gc.disable()  # a short batch job: the cycle collector only slows large runs (bench/generate.py)
    spec = read_specs(paths)
    base = _alertmanager_base(am_base) if am_base else None
    try:
        files, notes = generated.generate(spec, fmt, dashboards_entry, alertmanager_base=base)
    except SpecError as exc:
        exit_invalid(exc)
    except DashboardError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    root = Path(out)
    if check:
        drift = [name for name, text in files.items() if _read(root / name) != text]
        for name in drift:
            click.echo(f"differs: {root / name}", err=True)
        if drift:
            click.echo(f"{len(drift)} file(s) out of date; run: slokit generate {' '.join(paths)} --out {out}", err=True)
            sys.exit(1)
        click.echo(f"{len(files)} file(s) up to date")
        return
    for name, text in files.items():
        write_atomically(root / name, text)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{len(spec.slos)} SLO(s) -> {len(files)} file(s) in {root}/")


def _alertmanager_base(path: str) -> Doc:
    """The --alertmanager-base file as a document (lines kept for messages); exit 2 if it is not YAML."""
    try:
        docs = read_documents(path, Path(path).read_text(encoding="utf-8"))
    except SpecError as exc:
        exit_invalid(exc)
    if not docs:
        exit_invalid(SpecError([Problem(path, 0, "", "empty: expected an Alertmanager config")]))
    return docs[0]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


@main.group()
def apply() -> None:
    """Push generated artefacts to running systems (Grafana)."""


@apply.command("grafana")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--folder", default="SLOs", show_default=True, help="Folder title; created if missing.")
@click.option("--folder-uid", default="slokit", show_default=True, help="Folder uid used when creating it.")
@click.option("--dry-run", is_flag=True, help="Change nothing; show what would change, as a diff.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per request.")
@click.option("--retries", default=3, show_default=True, help="Attempts per request on 5xx and connection errors.")
def apply_grafana(paths: tuple[str, ...], folder: str, folder_uid: str, dry_run: bool, timeout: float,
                  retries: int) -> None:
    """Upload dashboards (from `slokit generate`) to Grafana, writing only those that changed.

    Reads GRAFANA_URL and GRAFANA_TOKEN (a service account token) from the environment. Exits 1 when
    any dashboard failed.

    \b
    Examples:
      slokit apply grafana build/dashboards/ --dry-run
      GRAFANA_URL=https://grafana.example.com GRAFANA_TOKEN=... slokit apply grafana build/dashboards/
    """
    from slokit.apply import grafana

    def report(i: int, n: int, result: grafana.Result) -> None:
        click.echo(f"[{i}/{n}] {result.line()}")
        if dry_run and result.diff:
            click.echo(result.diff, nl=False)

    try:
        dashboards = grafana.load(paths)
        api = grafana.connect(timeout=timeout)
        run = grafana.apply(api, dashboards, folder, folder_uid, dry_run,
                            grafana.Retry(attempts=max(1, retries)), report)
    except grafana.ApplyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"folder {run.folder}")
    click.echo(run.summary())
    if run.counts()["failed"]:
        sys.exit(1)


@main.command()
@click.argument("events", type=click.Path(exists=True, dir_okay=False))
@click.option("--spec", "specs", multiple=True, required=True, type=click.Path(),
              help="Spec files or folders (repeatable).")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False),
              help="Policy file; default: the `policy:` sections of the specs.")
@click.option("--until", default="0s", show_default=True,
              help="Go on this long after the last event (e.g. 2h) to see recoveries.")
@click.option("--step", default=None, help="Evaluate every STEP of simulated time (default: one engine bucket).")
@click.option("--rollout", "rollout_events", type=click.Path(exists=True, dir_okay=False),
              help="A canary's events: replay a staged rollout against EVENTS (the stable version's) with the "
                   "spec's gate; print each stage's decision (docs/delivery.md).")
@click.option("--stages", default="1,10,50", show_default=True, help="With --rollout: canary weights in percent.")
@click.option("--stage-duration", default="10m", show_default=True, help="With --rollout: time per stage.")
@click.option("--slo", "slo_id", help="With --rollout: the SLO (default: the only one with a gate canary).")
def simulate(events: str, specs: tuple[str, ...], policy_file: str | None, until: str, step: str | None,
             rollout_events: str | None, stages: str, stage_duration: str, slo_id: str | None) -> None:
    """Replay events through the burn-rate engine and a degrade policy; print every decision as JSON lines.

    EVENTS is CSV (header `timestamp,slo,good,bad`, or `timestamp,slo,outcome`) or JSON lines with the same
    keys. See docs/runtime.md.

    \b
    Example:
      slokit simulate --spec examples/checkout.yml --policy examples/policy.yml events.csv --until 2h
    """
    from slokit.runtime.policy import load_policy, policy_from_specs
    from slokit.runtime.simulate import read_events
    from slokit.runtime.simulate import simulate as replay

    spec = read_specs(specs)
    if rollout_events:
        _simulate_rollout(spec, events, rollout_events, stages, stage_duration, slo_id)
        return
    try:
        extra = promql.parse_duration(until) if until not in ("0", "0s") else 0
        every = promql.parse_duration(step) if step else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    try:
        policy = load_policy(policy_file, spec.slos) if policy_file else policy_from_specs(spec.slos)
        if not policy.rules:
            message = "no policy rules (give --policy or a `policy:` section)"
            raise SpecError([Problem(policy_file or specs[0], 0, "", message)])
        count = 0
        for record in replay(read_events(events), policy, spec.slos, until=extra, step=every, file=events):
            click.echo(json.dumps(record, sort_keys=True))
            count += 1
    except SpecError as exc:
        exit_invalid(exc, "nothing replayed")
    click.echo(f"{count} transition(s)", err=True)


@main.group()
def silence() -> None:
    """Silence a silence group's alerts through Alertmanager's v2 API.

    The silences' matchers cover exactly the group's alerts: its SLOs' page and ticket alerts and the
    symptom alerts it declares. Alertmanager's URL comes from --url or SLOKIT_ALERTMANAGER_URL; a bearer
    token from SLOKIT_ALERTMANAGER_TOKEN(_FILE), or basic auth from SLOKIT_ALERTMANAGER_USER and
    SLOKIT_ALERTMANAGER_PASSWORD(_FILE).

    \b
    Examples:
      slokit silence add payments -s slos/ --duration 2h --comment "DB failover, CHG-1234"
      slokit silence list -s slos/
      slokit silence expire payments -s slos/
    """


_spec_option = click.option("-s", "--spec", "specs", multiple=True, required=True, type=click.Path(),
                             help="Spec file or folder declaring the silence groups (repeatable).")
_url_option = click.option("--url", envvar=silences.ENV_URL, help=f"Alertmanager base URL [env: {silences.ENV_URL}].")


def _silence_group(specs: tuple[str, ...], name: str | None) -> list[silence_groups.Group]:
    """The named group (or all) from the specs; exit 2 if there is no such group."""
    found = silence_groups.groups(read_specs(specs).slos)[0]
    if name is None:
        return list(found.values())
    if name not in found:
        click.echo(f"no silence group {name!r} in {', '.join(specs)} (groups: {', '.join(found) or 'none'})", err=True)
        sys.exit(EXIT_INVALID)
    return [found[name]]


def _run(actions: list[silences.Action], client: silences.Client | None) -> None:
    """Print each action; send it unless this is a dry run (client None)."""
    for action in actions:
        if action.method is None:
            click.echo(f"unchanged: {action.why}")
        elif client is None:
            body = f" {json.dumps(action.body, sort_keys=True)}" if action.body else ""
            click.echo(f"would {action.method} {action.path}{body}  # {action.why}")
        else:
            answer = client.send(action)
            created = f" -> {answer['silenceID']}" if isinstance(answer, dict) and "silenceID" in answer else ""
            click.echo(f"{action.why}{created}")


def _client(url: str | None) -> silences.Client:
    try:
        return silences.Client.from_env(url)
    except silences.AlertmanagerError as exc:
        raise click.UsageError(str(exc)) from None


@silence.command("add")
@click.argument("group")
@_spec_option
@click.option("--duration", required=True, help="How long, e.g. 30m, 2h, 1d.")
@click.option("--comment", required=True, help="Why (shown in Alertmanager), e.g. a change ticket.")
@click.option("--author", default=lambda: os.environ.get("USER") or "slokit", show_default="$USER",
              help="createdBy of the silences.")
@_url_option
@click.option("--dry-run", is_flag=True, help="Print the silences that would be created; send nothing (with a URL, "
                                              "existing silences are read to show which would be reused).")
def silence_add(group: str, specs: tuple[str, ...], duration: str, comment: str, author: str, url: str | None,
                dry_run: bool) -> None:
    """Silence GROUP's alerts for --duration; re-running reuses (or extends) an identical active silence."""
    try:
        length = timedelta(seconds=promql.parse_duration(duration))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--duration") from None
    [target] = _silence_group(specs, group)
    client = _client(url) if url or not dry_run else None
    try:
        # A dry run with a URL still reads the existing silences (a GET), so it shows what a real run would do.
        existing = client.silences() if client else []
        actions = silences.plan_add(target, existing, datetime.now(UTC), length, author, comment)
        _run(actions, None if dry_run else client)
    except silences.AlertmanagerError as exc:
        raise click.ClickException(str(exc)) from None


@silence.command("list")
@click.argument("group", required=False)
@_spec_option
@_url_option
@click.option("--all", "show_all", is_flag=True, help="Also list expired silences.")
def silence_list(group: str | None, specs: tuple[str, ...], url: str | None, show_all: bool) -> None:
    """List the silences of GROUP (or of every group): id, state, end, group, matchers, comment."""
    targets = _silence_group(specs, group)
    try:
        existing = _client(url).silences()
    except silences.AlertmanagerError as exc:
        raise click.ClickException(str(exc)) from None
    for target in targets:
        for matchers in target.silences():
            for s in silences.matching(existing, matchers, live_only=not show_all):
                text = ", ".join(m.text() for m in matchers)
                click.echo(f"{s['id']}  {s['status']['state']:<8} until {s['endsAt']}  {target.name}  "
                           f"{{{text}}}  {s.get('comment', '')}")


@silence.command("expire")
@click.argument("group")
@_spec_option
@_url_option
@click.option("--dry-run", is_flag=True, help="Print the silences that would be expired; expire nothing.")
def silence_expire(group: str, specs: tuple[str, ...], url: str | None, dry_run: bool) -> None:
    """Expire GROUP's active and pending silences (alerts notify again)."""
    [target] = _silence_group(specs, group)
    client = _client(url)
    try:
        actions = silences.plan_expire(target, client.silences())
        _run(actions, None if dry_run else client)
    except silences.AlertmanagerError as exc:
        raise click.ClickException(str(exc)) from None
    if not actions:
        click.echo(f"no active silences for group {group!r}")


@main.command()
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(0.25, 20),
              help="Run the story's clock this many times faster (4: about 15 seconds).")
@click.option("--no-fault", "no_fault", is_flag=True, help="Inject no fault: the burn stays low, nothing trips.")
@click.option("--serve", "keep_serving", is_flag=True, help="Keep serving the service and its status page after the story.")
@click.option("--port", default=0, show_default="a free port", type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1 for the service and its status page (/slokit/).")
def demo(speed: float, no_fault: bool, keep_serving: bool, port: int) -> None:
    """Watch the loop: an instrumented service burns its error budget, degrades itself and recovers.

    Starts a checkout service on 127.0.0.1 with slokit's middleware and in-process runtime, sends it
    traffic, makes its payment gateway fail after a calm start, and prints the timeline: burn per window,
    the page-level burn, the breaker opening, the switch degrading, the fallback serving, the fault
    ending and the recovery after the hold time. About a minute; exits 0 when the story went as told.

    \b
    Examples:
      slokit demo
      slokit demo --speed 4 --serve      # then open http://127.0.0.1:PORT/slokit/
    """
    from slokit.demo.story import run

    sys.exit(run(speed=speed, fault=not no_fault, keep_serving=keep_serving, port=port))


@main.command()
@click.option("--url", help="A running service's status page or its status.json (e.g. http://127.0.0.1:8000/slokit/).")
@click.option("--prometheus", "prometheus_url", help="A Prometheus-compatible API evaluating the rules `slokit generate` wrote.")
@click.option("-s", "--spec", "specs", multiple=True, type=click.Path(),
              help="Spec files or folders: the SLOs to show (required with --prometheus).")
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as JSON instead of tables.")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds per request.")
def status(url: str | None, prometheus_url: str | None, specs: tuple[str, ...], as_json: bool, timeout: float) -> None:
    """Show SLOs (objective, SLI, budget remaining, burn per window), breakers and switches as tables.

    From a running service's status page (--url), or from Prometheus' recorded rules (--prometheus with
    --spec; breakers and switches come from the runtime's metrics if Prometheus scrapes them).

    \b
    Examples:
      slokit status --url http://127.0.0.1:8000/slokit/
      slokit status --prometheus http://prometheus:9090 -s slos/
    """
    from slokit.status import terminal

    if (url is None) == (prometheus_url is None):
        raise click.UsageError("give either --url or --prometheus")
    if prometheus_url and not specs:
        raise click.UsageError("--prometheus needs --spec (which SLOs, and their windows)")
    try:
        if url:
            snapshot = terminal.from_service(url, timeout)
        else:
            snapshot = terminal.from_prometheus(terminal.Prometheus(prometheus_url, timeout), read_specs(specs).slos)
    except terminal.StatusError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(json.dumps(snapshot, indent=2, sort_keys=True) if as_json else terminal.render(snapshot))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--prometheus", "prometheus_url", required=True,
              help="A Prometheus-compatible API (Prometheus, Thanos, Mimir, VictoriaMetrics) with the generated rules.")
@click.option("--slo", "slo_ids", multiple=True, help="Only these SLOs (service-name); default: every SLO in PATHS.")
@click.option("--canary", help="Canary label value; compares it with --baseline (overrides the specs' gate.canary).")
@click.option("--baseline", help="Baseline (stable) label value.")
@click.option("--label", help="Label telling the versions apart (default: version).")
@click.option("--window", help="Traffic compared, e.g. 10m.")
@click.option("--min-requests", type=int, help="Fewer requests on either side: exit 2 (cannot decide).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON: every check, its query, value, threshold.")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds per query.")
@click.option("--auth-header-env", help="Environment variable holding the whole Authorization header value.")
@click.option("--serve", is_flag=True, help="Serve Flagger webhooks (POST /flagger) and Argo Rollouts' web provider (/argo).")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve: address to listen on.")
@click.option("--port", default=9097, show_default=True, type=click.IntRange(0, 65535), help="With --serve: port.")
def gate(paths: tuple[str, ...], prometheus_url: str, slo_ids: tuple[str, ...], canary: str | None,
         baseline: str | None, label: str | None, window: str | None, min_requests: int | None, as_json: bool,
         timeout: float, auth_header_env: str | None, serve: bool, host: str, port: int) -> None:
    """Release gate: may a new version take more traffic? Exit 0 pass, 1 fail, 2 cannot decide.

    Checks each SLO's remaining budget and burn and, with a canary, the canary's error ratio against the
    baseline's (one-sided Fisher's exact test, minimum requests). No data, too little traffic or an
    unreachable Prometheus give 2, never a pass. See docs/delivery.md.

    \b
    Examples:
      slokit gate examples/checkout.yml --prometheus http://prometheus:9090 --canary v2 --baseline v1
      slokit gate slos/ --prometheus http://prometheus:9090 --json
      slokit gate slos/ --prometheus http://prometheus:9090 --serve --port 9097
    """
    from slokit import gate as gates

    slos = [s for s in read_specs(paths).slos if not slo_ids or s.id in slo_ids]
    if slo_ids and not slos:
        raise click.UsageError(f"no SLO named {', '.join(slo_ids)} in {', '.join(paths)}")
    headers = {"Authorization": os.environ[auth_header_env]} if auth_header_env and os.environ.get(auth_header_env) else {}
    query = gates.prometheus_query(prometheus_url, timeout, headers)
    given = {"canary": canary, "baseline": baseline, "label": label, "window": window,
             "min_requests": None if min_requests is None else str(min_requests)}
    try:
        _, cli_canary = gates.overrides({k: v for k, v in given.items() if v is not None})
    except ValueError as exc:
        raise click.UsageError(str(exc))

    def run(ids: list[str], fields: dict) -> gates.Report:
        chosen = [s for s in slos if not ids or s.id in ids]
        return gates.evaluate(chosen, query, {**cli_canary, **fields})

    if serve:
        server = gates.make_server(run, host, port)
        click.echo(f"slokit gate serving on http://{host}:{server.server_address[1]}/ (POST /flagger, /argo)", err=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
        return
    report = run([], {})
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        for check in report.checks:
            click.echo(f"  {check.status:9} {check.slo} {check.check}: {check.detail}")
        click.echo(report.line())
    sys.exit(report.exit_code)


def _simulate_rollout(spec: Spec, stable: str, canary: str, stages: str, stage_duration: str,
                      slo_id: str | None) -> None:
    """`slokit simulate --rollout`: one JSON line per stage decision, then the outcome; exit 1 if stopped."""
    from slokit.rollout import per_second, simulate_rollout
    from slokit.runtime.simulate import read_events
    from slokit.spec.gate import gate_spec

    gated = [s for s in spec.slos if (slo_id is None or s.id == slo_id) and gate_spec(s).canary]
    if len(gated) != 1:
        raise click.UsageError(f"--rollout needs one SLO with a gate canary section; found {len(gated)}"
                               + ("" if slo_id else " (choose with --slo)"))
    slo, gate = gated[0], gate_spec(gated[0])
    try:
        weights = [float(w) / 100 for w in stages.split(",")]
        seconds = promql.parse_duration(stage_duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if not all(0 < w < 1 for w in weights):
        raise click.BadParameter("stages are canary weights in percent, each above 0 and below 100")
    try:
        records = list(simulate_rollout(slo.id, per_second(read_events(canary), slo.id),
                                        per_second(read_events(stable), slo.id), gate.canary, gate.stop, weights,
                                        seconds))
    except SpecError as exc:
        exit_invalid(exc, "nothing simulated")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    for record in records:
        click.echo(json.dumps(record, sort_keys=True))
    sys.exit(0 if records[-1]["result"] == "promoted" else 1)
