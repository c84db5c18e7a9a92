"""`slokit generate` remembers in OUT/.slokit-cache what each service's files were made from and renders
only what changed; the output is the same with the cache, without it, with a damaged one and after
files were edited by hand. Long runs show progress on a
terminal and nothing elsewhere."""

from __future__ import annotations

import io
import shutil
import textwrap
from pathlib import Path

from click.testing import CliRunner

from slokit.cli import main
from slokit.cli.progress import Progress
from slokit.generate import files as generated
from slokit.generate.cache import DIR, Cache
from slokit.spec import load
from tests.conftest import EXAMPLES


def service(name: str, objective: str = "99.9") -> str:
    return textwrap.dedent(f"""
        version: slokit/v1
        service: {name}
        slos:
          - name: availability
            objective: {objective}
            sli:
              http: {{route: /{name}}}
    """)


def specs(folder: Path, **objectives: str) -> Path:
    folder.mkdir(exist_ok=True)
    for name, objective in objectives.items():
        (folder / f"{name}.yml").write_text(service(name, objective))
    return folder


def run(spec: Path, out: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["generate", str(spec), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return result.output


def tree_paths(out: Path) -> list[Path]:
    return [p for p in sorted(out.rglob("*")) if p.is_file() and DIR not in p.parts]


def tree(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text() for p in tree_paths(out)}


def generate_with(spec: Path, out: Path) -> tuple[dict[str, str], Cache]:
    """What `slokit generate` does: generate with the cache, write the files, save the cache."""
    cache = Cache(out / DIR, out)
    files = generated.generate(load([str(spec)]), cache=cache)[0]
    for name, text in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    cache.save()
    return files, cache


def test_a_rerun_renders_nothing_and_one_change_renders_one_service(tmp_path):
    spec, out = specs(tmp_path / "slos", a="99.9", b="99.5", c="99"), tmp_path / "out"
    first, cold = generate_with(spec, out)
    assert (cold.hits, cold.misses) == (0, 6)  # rules and dashboards of three services

    again, warm = generate_with(spec, out)
    assert again == first and (warm.hits, warm.misses) == (6, 0)

    specs(spec, b="99.95")
    changed, cache = generate_with(spec, out)
    assert changed == generated.generate(load([str(spec)]))[0]
    assert (cache.hits, cache.misses) == (4, 2)


def test_the_cache_lives_beside_the_output_and_deleting_it_changes_nothing(tmp_path):
    out = tmp_path / "out"
    run(EXAMPLES, out)
    assert sorted(p.name for p in (out / DIR).iterdir()) == [".gitignore", "index.json"]  # no copy of the output
    assert "*" in (out / DIR / ".gitignore").read_text()
    cold = tree(out)
    run(EXAMPLES, out)
    assert tree(out) == cold
    shutil.rmtree(out / DIR)
    run(EXAMPLES, out)
    assert tree(out) == cold


def test_edited_output_or_a_damaged_cache_is_a_miss_never_wrong_output(tmp_path):
    spec = specs(tmp_path / "slos", a="99.9")
    out = tmp_path / "out"
    run(spec, out)
    expected = tree(out)
    (out / "dashboards/slokit-svc-a.json").write_text("edited by hand")
    (out / "rules/a.yml").unlink()
    run(spec, out)
    assert tree(out) == expected
    (out / DIR / "index.json").write_text("[not an index")
    run(spec, out)
    assert tree(out) == expected


def test_unchanged_files_are_not_rewritten(tmp_path):
    spec = specs(tmp_path / "slos", a="99.9", b="99.5")
    out = tmp_path / "out"
    run(spec, out)
    stamps = {p: p.stat().st_mtime_ns for p in tree_paths(out)}
    specs(spec, b="99")
    run(spec, out)
    changed = {str(p.relative_to(out)) for p, stamp in stamps.items() if p.stat().st_mtime_ns != stamp}
    assert changed == {"rules/b.yml", "rules/tests/b.test.yml", "dashboards/slokit-svc-b.json",
                       "delivery/b.analysistemplate.yml", "delivery/b.metrictemplates.yml"}


def test_changing_the_dashboards_library_renders_the_dashboards_again(tmp_path):
    spec = specs(tmp_path / "slos", a="99.9")
    entry = tmp_path / "lib" / "mine.jsonnet"
    entry.parent.mkdir()
    entry.write_text("local slokit = import 'slokit.libsonnet';\n"
                     "function(model) (slokit + { config+:: { refresh: '30s' } }).dashboards(model)\n")
    out = tmp_path / "out"
    run(spec, out, "--dashboards-jsonnet", str(entry))
    assert '"refresh": "30s"' in (out / "dashboards/slokit-svc-a.json").read_text()
    entry.write_text(entry.read_text().replace("30s", "5m"))
    run(spec, out, "--dashboards-jsonnet", str(entry))
    assert '"refresh": "5m"' in (out / "dashboards/slokit-svc-a.json").read_text()


def test_check_reads_the_cache_and_writes_nothing(tmp_path):
    spec = specs(tmp_path / "slos", a="99.9")
    out = tmp_path / "out"
    run(spec, out)
    index = (out / DIR / "index.json").read_text()
    specs(spec, a="99")
    result = CliRunner().invoke(main, ["generate", str(spec), "--out", str(out), "--check"])
    assert result.exit_code == 1 and "rules/a.yml" in result.output
    assert (out / DIR / "index.json").read_text() == index


def test_quiet_prints_nothing_on_success(tmp_path):
    spec = specs(tmp_path / "slos", a="99.9")
    assert run(spec, tmp_path / "out", "--quiet") == ""
    assert "file(s) in" in run(spec, tmp_path / "out")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_once_a_run_is_long():
    now = [0.0]
    terminal = Terminal()
    progress = Progress(stream=terminal, after=0.5, clock=lambda: now[0])
    progress("rules", 10, 500)  # within the first half second: quiet
    assert terminal.getvalue() == ""
    now[0] = 1.0
    progress("rules", 200, 500)
    now[0] = 1.01
    progress("rules", 210, 500)  # too soon after the last update
    now[0] = 1.5
    progress("dashboards", 500, 500)
    progress.close()
    assert terminal.getvalue() == ("\r\033[Kslokit: rules 200/500 services"
                                   "\r\033[Kslokit: dashboards 500/500 services\r\033[K")


def test_progress_is_silent_off_a_terminal_and_when_quiet():
    for progress, stream in ((Progress(stream=(s := io.StringIO()), after=0), s),
                             (Progress(quiet=True, stream=(t := Terminal()), after=0), t)):
        progress("rules", 1, 2)
        progress.close()
        assert stream.getvalue() == ""
