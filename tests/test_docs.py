"""Every CLI command and every config key is documented in README.md."""

from __future__ import annotations

import re

import click
import pytest

from conftest import REPO
from monitor import config as config_mod
from monitor.cli import cli

README = (REPO / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "monitor") -> list[str]:
    found = []
    for name, command in group.commands.items():
        found.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            found.extend(commands(command, f"{prefix} {name}"))
    return found


@pytest.mark.parametrize("command", commands(cli))
def test_command_documented(command):
    assert f"`{command}" in README, f"{command} is not in README.md's command table"


@pytest.mark.parametrize("option", ["--once", "--config", "--verbose", "--database"])
def test_options_documented(option):
    assert option in README


@pytest.mark.parametrize(
    "section, key",
    [(section, key) for section, table in config_mod.all_settings().items() for key in table],
)
def test_config_key_documented(section, key):
    assert re.search(rf"\| `{re.escape(key)}` \|", README), f"{section}.{key} is not in README.md's reference"


def test_changelog_and_architecture_exist():
    assert "#2" in (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert (REPO / "docs" / "architecture.md").read_text(encoding="utf-8").count("##") >= 5


# --- The README's commands, run as written -------------------------------------------------------

def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end >= 0 else None]


def code_blocks(text: str) -> list[list[str]]:
    """The indented code blocks of a README part, each a list of its lines less the indent."""
    blocks, current = [], []
    for line in text.splitlines():
        if line.startswith("    "):
            current.append(line[4:])
        elif current:
            blocks.append(current)
            current = []
    return blocks + ([current] if current else [])


def steps(text: str) -> list[tuple[str, str]]:
    """("url", URL), ("serve", command) or ("shell", script): a code block's lines, in order, with the
    shell lines between two others one script (a here-document spans lines)."""
    found: list[tuple[str, str]] = []
    for block in code_blocks(text):
        script: list[str] = []
        for line in block:
            bare = line.split("  #", 1)[0].strip()
            kind = "url" if bare.startswith("http://") else "serve" if bare.endswith("&") else None
            if kind:
                if script:
                    found.append(("shell", "\n".join(script)))
                    script = []
                found.append((kind, bare.rstrip("&").strip()))
            else:
                script.append(line)
        if script:
            found.append(("shell", "\n".join(script)))
    return found


def monitor_lines() -> list[str]:
    return [line.split("  #", 1)[0].strip() for block in code_blocks(README) for line in block
            if line.startswith("monitor ")]


@pytest.mark.parametrize("line", monitor_lines())
def test_every_monitor_line_in_the_readme_parses(line):
    """Every `monitor …` line in a README code block names commands and options that exist: click
    parses every option before it acts on --help, so an unknown one fails here."""
    import shlex

    from click.testing import CliRunner

    args = shlex.split(line.split(" <<", 1)[0].rstrip("&"))[1:]
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, f"{line}: {result.output}"


def _shell_env(tmp_path):
    import os
    import sys
    from pathlib import Path

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               HOME=str(tmp_path), COLUMNS="80")
    env.pop("MONITOR_CONFIG", None)
    return env


def _open(url: str) -> tuple[int, bytes]:
    import urllib.error
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.urlencode(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    quoted = urllib.parse.urlunsplit(parts._replace(path=urllib.parse.quote(parts.path), query=query))
    try:
        with urllib.request.urlopen(quoted, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:  # not listening yet
        return 0, b""


def run_steps(found: list[tuple[str, str]], where, port: int) -> list[str]:
    """Run a README part's steps in `where`: shell scripts with bash (set -e), `… &` started in the
    background until its port answers, URLs fetched; a canned query's URL must give rows."""
    import json
    import shlex
    import subprocess
    import urllib.parse

    from conftest import wait_for

    env, background, done = _shell_env(where), [], []
    try:
        for kind, text in found:
            if kind == "shell":
                run = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", text], cwd=where, env=env,
                                     capture_output=True, text=True, timeout=600)
                assert run.returncode == 0, f"{text}\n→ exit {run.returncode}\n{run.stdout}\n{run.stderr}"
            elif kind == "serve":
                argv = [*shlex.split(text), "--port", str(port)]
                process = subprocess.Popen(argv, cwd=where, env=env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.PIPE, text=True)
                background.append(process)
                home = f"http://127.0.0.1:{port}/-/versions.json"
                assert wait_for(lambda: process.poll() is not None or _open(home)[0] == 200, timeout=120)
                assert process.poll() is None, process.stderr.read()
            else:
                url = text.replace(":8001", f":{port}")
                status, body = _open(url)
                assert status == 200 and body, f"{text} → {status}"
                parts = urllib.parse.urlsplit(url)
                segments = [s for s in parts.path.split("/") if s]
                if parts.path.endswith(".atom"):
                    assert b"<entry>" in body, f"{text}: an Atom feed without entries"
                elif len(segments) == 2 and "." not in segments[1]:  # a canned query or a table: rows
                    data_url = urllib.parse.urlunsplit(parts._replace(path=parts.path + ".json",
                                                                     query=parts.query + "&_shape=objects"))
                    status, body = _open(data_url)
                    assert status == 200 and json.loads(body)["rows"], f"{text}: no rows"
            done.append(text)
    finally:
        for process in background:
            process.terminate()
            process.wait(timeout=30)
    return done


@pytest.mark.slow
def test_a_morning_with_the_archive_runs_as_written(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    found = steps(section("A morning with the archive"))
    assert {kind for kind, _ in found} == {"shell", "serve", "url"}
    done = run_steps(found, tmp_path, port)
    assert done[0].startswith("monitor demo") and len(done) == len(found)
    assert (tmp_path / "monitor-demo.db").is_file()


@pytest.mark.slow
def test_running_on_real_feeds_runs_as_written(tmp_path):
    """"Running on real feeds", line by line, on a feeds.yaml of feeds served on 127.0.0.1 (the
    demo's) and the shipped rules: `monitor run` until its first cycle is done, then SIGTERM."""
    import shutil
    import signal
    import subprocess

    import yaml

    from conftest import wait_for
    from monitor.demo import serve_demo

    lines = [line.split("  #", 1)[0].strip() for block in code_blocks(section("Running on real feeds"))
             for line in block]
    assert lines == ["monitor check", "monitor run --once", "monitor feeds", "monitor run"]
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    env = _shell_env(tmp_path)
    with serve_demo() as base:
        feeds = [{"url": f"{base}/feeds/{name}", "name": name.split(".")[0]}
                 for name in ("kyiv-wire.rss", "frontline.json", "dnipro-daily.atom")]
        (tmp_path / "feeds.yaml").write_text(yaml.safe_dump({"database": "monitor.db", "rules": "rules",
                                                              "feeds": feeds}), encoding="utf-8")
        for line in lines[:-1]:
            run = subprocess.run(["bash", "-e", "-c", line], cwd=tmp_path, env=env, capture_output=True,
                                 text=True, timeout=600)
            assert run.returncode == 0, f"{line} → {run.returncode}\n{run.stdout}\n{run.stderr}"
            if line == "monitor feeds":
                assert all(f["name"] in run.stdout for f in feeds)
        log = tmp_path / "daemon.log"
        with log.open("w") as err:
            daemon = subprocess.Popen(lines[-1].split(), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err)
            try:
                assert wait_for(lambda: daemon.poll() is not None or "cycle done" in log.read_text(), timeout=300)
                assert daemon.poll() is None, log.read_text()
                daemon.send_signal(signal.SIGTERM)
                assert daemon.wait(timeout=120) == 0, log.read_text()
            finally:
                if daemon.poll() is None:
                    daemon.kill()
    assert (tmp_path / "monitor.db").is_file()


@pytest.mark.slow
def test_quick_start_runs_as_written(tmp_path):
    """The quick start's first line past its `pip install` (what .ci/run does in a fresh venv)."""
    import subprocess

    first = code_blocks(section("Quick start"))[0]
    assert first == ["pip install -e . && monitor demo"]
    run = subprocess.run(["bash", "-e", "-c", first[0].split(" && ", 1)[1]], cwd=tmp_path, env=_shell_env(tmp_path),
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "Next:" in run.stdout, run.stderr
    assert (tmp_path / "monitor-demo.db").is_file()


# --- The README's config reference: each row's default is the declaration's ------------------------

# The bold heading over each table of the reference, and the declarations it documents.
REFERENCE = {
    "**top level**": config_mod.TOP_SETTINGS,
    "**a feed entry": config_mod.FEED_KEYS,
    "**`defaults:` and each feed**": config_mod.FEED_SETTINGS,
    "**`fetch:`**": config_mod.FETCH_SETTINGS,
    "**`digest:`**": config_mod.DIGEST_SETTINGS,
    "**`digest.smtp:`**": config_mod.SMTP_SETTINGS,
    "**`stories:`**": config_mod.STORY_SETTINGS,
    "**`archive:`**": config_mod.ARCHIVE_SETTINGS,
}


def reference_rows() -> list[tuple[str, str, str]]:
    """(heading, key, default cell) of every row in the README's configuration reference."""
    rows, heading = [], None
    for line in section("Configuration reference").splitlines():
        heading = next((h for h in REFERENCE if line.startswith(h)), heading)
        row = re.match(r"\| `([^`]+)` \| (.*?) \| ", line)
        if row and heading:
            rows.append((heading, row.group(1), row.group(2)))
    return rows


def written_default(setting: config_mod.Setting, cell: str):
    """What a README default cell says the value is, read as feeds.yaml would read it."""
    import yaml

    text = cell.strip()
    if setting.shown is not None:  # a default said in words: the README must say those words
        return text.strip("`")
    if text == "—":
        return None
    text = text.strip("`")
    if setting.kind in ("list", "addresses", "feeds"):
        return tuple(yaml.safe_load(text))
    if setting.kind == "str":
        return text
    return config_mod.check_value(setting.kind, yaml.safe_load(text))


def test_the_reference_documents_every_table():
    assert {heading for heading, _key, _cell in reference_rows()} == set(REFERENCE)


@pytest.mark.parametrize("heading, key, cell", reference_rows())
def test_config_reference_default_is_the_declared_one(heading, key, cell):
    table = REFERENCE[heading]
    assert key in table, f"README documents {key} under {heading}, which has no such key"
    setting = table[key]
    expected = setting.shown if setting.shown is not None else setting.default
    assert written_default(setting, cell) == expected, f"{key}: README says {cell}, the declaration {expected!r}"
