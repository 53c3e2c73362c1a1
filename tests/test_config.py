"""feeds.yaml: defaults, and every kind of mistake named by file, line and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor import config as config_mod
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def load_text(tmp_path: Path, text: str):
    path = tmp_path / "feeds.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return config_mod.load(path)


def test_defaults_and_overrides(tmp_path):
    config = load_text(tmp_path, """\
        defaults:
          interval: 10m
          timeout: 20s
        fetch:
          per_host: 2
        feeds:
          - https://example.org/feed.xml
          - url: https://kyiv.example/rss
            name: kyiv
            interval: 1h
            full_text: false
            tags: [en, wire]
            max_page_size: 2MiB
        """)
    plain, kyiv = config.feeds
    assert plain.name == "example.org/feed.xml" and plain.interval == 600 and plain.timeout == 20
    assert plain.full_text is True and plain.private_links == "auto"
    assert kyiv.interval == 3600 and kyiv.full_text is False and kyiv.tags == ("en", "wire")
    assert kyiv.max_page_size == 2 * 2**20
    assert config.fetch.per_host == 2 and config.fetch.concurrency == config_mod.FETCH_SETTINGS["concurrency"].default
    assert config.database == tmp_path / "monitor.db" and config.rules == tmp_path / "rules"
    assert config.digest is None


def test_digest_section(tmp_path):
    config = load_text(tmp_path, """\
        feeds: [https://example.org/feed.xml]
        digest:
          to: analyst@example.org
          from: monitor@example.org
          time: "06:30"
          timezone: Europe/Kyiv
          smtp: {host: 127.0.0.1, port: 2525, security: none, password_env: SMTP_PASSWORD}
        """)
    assert config.digest.to == ("analyst@example.org",) and config.digest.sender == "monitor@example.org"
    assert config.digest.smtp.port == 2525 and config.digest.smtp.security == "none"


BAD = [
    # (yaml, line, key, words in the message)
    ("feeds:\n  - url: https://a.example/f\n    intervall: 5m\n", 3, "feeds[0].intervall", "unknown key"),
    ("feeds:\n  - url: ftp://a.example/f\n", 2, "feeds[0].url", "http or https URL"),
    ("feeds:\n  - url: 'https:///nohost'\n", 2, "feeds[0].url", "http or https URL"),
    ("feeds:\n  - name: x\n", 2, "feeds[0]", "needs a `url`"),
    ("feeds:\n  - url: https://a.example/f\n    interval: soon\n", 3, "feeds[0].interval", "duration"),
    ("feeds:\n  - url: https://a.example/f\n    full_text: 'yes'\n", 3, "feeds[0].full_text", "true or false"),
    ("feeds:\n  - url: https://a.example/f\n    tags: {a: 1}\n", 3, "feeds[0].tags", "list"),
    ("feeds:\n  - {url: 'https://a.example/1', name: a}\n  - {url: 'https://a.example/2', name: a}\n", 3, "feeds[1].name", "duplicate feed name"),
    ("feeds: https://a.example/f\n", 1, "feeds", "must be a list"),
    ("feedz: []\n", 1, "feedz", "unknown key"),
    ("defaults:\n  timeout: -3\nfeeds: []\n", 2, "defaults.timeout", "duration"),
    ("defaults:\n  private_links: maybe\nfeeds: []\n", 2, "defaults.private_links", "auto, allow, deny"),
    ("fetch:\n  per_host: 0\nfeeds: []\n", 2, "fetch.per_host", "from 1 to"),
    ("feeds: []\ndigest:\n  time: 7:30\n", 3, "digest.time", "HH:MM"),
    ("feeds: []\ndigest:\n  timezone: Mars/Olympus\n", 3, "digest.timezone", "time zone"),
    ("feeds: []\ndigest:\n  smtp:\n    security: ssl\n", 4, "digest.smtp.security", "starttls, tls, none"),
    ("feeds: []\ndigest:\n  smtp:\n    password_env: A\n    password_file: /b\n", 5, "digest.smtp.password_file", "not both"),
    ("feeds:\n  - url: https://a.example/f\n  bad indent\n", 3, "", "not valid YAML"),
    ("feeds: []\nfeeds: []\n", 2, "feeds", "given twice"),
    ("defaults:\n  interval: .nan\nfeeds: []\n", 2, "defaults.interval", "at most 365 days"),
    ("fetch:\n  max_backoff: .inf\nfeeds: []\n", 2, "fetch.max_backoff", "at most 365 days"),
    ("fetch:\n  user_agent: \"m\\nX-Evil: 1\"\nfeeds: []\n", 2, "fetch.user_agent", "control characters"),
    ("feeds: []\ndigest:\n  smtp:\n    port: 70000\n", 4, "digest.smtp.port", "65535"),
    ("feeds: []\ndigest:\n  to: ['@@']\n", 3, "digest.to", "not an e-mail address"),
]


@pytest.mark.parametrize("text, line, key, words", BAD)
def test_bad_config_names_file_line_and_key(tmp_path, text, line, key, words):
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text)
    error = info.value
    assert error.file.endswith("feeds.yaml") and error.line == line and error.key == key
    assert words in str(error)
    assert str(error).startswith(f"{error.file}:{line}")


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        config_mod.load(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="empty"):
        load_text(tmp_path, "")


@pytest.mark.parametrize("raw, seconds", [(90, 90.0), ("90s", 90.0), ("15m", 900.0), ("2h", 7200.0), ("1d", 86400.0), ("1.5m", 90.0)])
def test_durations(raw, seconds):
    assert config_mod.parse_duration(raw) == seconds


@pytest.mark.parametrize("raw, size", [(1024, 1024), ("4MiB", 4 * 2**20), ("512KiB", 512 * 1024), ("1GB", 10**9), ("10 mib", 10 * 2**20)])
def test_sizes(raw, size):
    assert config_mod.parse_size(raw) == size


def test_shipped_feeds_yaml_is_valid():
    config = config_mod.load(REPO / "feeds.yaml")
    assert 15 <= len(config.feeds) <= 25
    assert all(f.url.startswith("https://") for f in config.feeds)


def test_config_path_precedence(monkeypatch):
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    assert config_mod.config_path(None) == Path("feeds.yaml")
    monkeypatch.setenv("MONITOR_CONFIG", "/etc/monitor/feeds.yaml")
    assert config_mod.config_path(None) == Path("/etc/monitor/feeds.yaml")
    assert config_mod.config_path("mine.yaml") == Path("mine.yaml")


# `monitor check` names file:line:column of the token at fault, then shows its line with a caret.
CHECKED = [
    pytest.param("feeds:\n  - url: https://a.example/f\n    name: a\n   tags: [x]\n", 4, 4, "",
                 "not valid YAML: expected <block end>, but found '<block mapping start>'", id="yaml-indentation"),
    pytest.param("feeds:\n  - url: https://a.example/f\n     name: a\n", 3, 6, "",
                 "not valid YAML: mapping values are not allowed here", id="yaml-key-indented-too-far"),
    pytest.param("feeds:\n  - url: https://a.example/f\n  bad indent\n", 3, 3, "",
                 "not valid YAML: could not find expected ':'", id="yaml-neither-key-nor-item"),
    pytest.param("feeds: [https://a.example/f,\n  https://b.example/g\ndigest: x\n", 1, 8, "",
                 "not valid YAML: expected ',' or ']'", id="yaml-unclosed-bracket"),
    pytest.param("defaults:\n  intervall: 5m\nfeeds: []\n", 2, 3, "defaults.intervall", "unknown key (known keys:",
                 id="unknown-key"),
    pytest.param("feeds:\n  - url: https://a.example/f\n    interval: soon\n", 3, 15, "feeds[0].interval",
                 "must be a duration such as 90s, 15m or 2h, not 'soon'", id="bad-value"),
    pytest.param("feeds:\n  - url: https://a.example/f\n    name: a\n  - url: https://b.example/g\n    name: a\n", 5, 11,
                 "feeds[1].name", "duplicate feed name 'a' (first at line 2)", id="duplicate-name"),
]


@pytest.mark.parametrize("text, line, column, key, message", CHECKED)
def test_check_points_at_the_token_in_feeds_yaml(tmp_path, text, line, column, key, message):
    from click.testing import CliRunner

    from monitor.cli import cli

    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "check"])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    where = f"{path}:{line}:{column}: {key}: " if key else f"{path}:{line}:{column}: "
    assert lines[0].startswith(f"monitor: {where}{message}"), lines[0]
    assert lines[1:3] == [text.split("\n")[line - 1], " " * (column - 1) + "^"]


def test_a_digest_without_smtp_has_no_server_and_sending_says_so(tmp_path):
    config = load_text(tmp_path, """\
        feeds: [https://example.org/feed.xml]
        digest:
          to: analyst@example.org
          from: monitor@example.org
        """)
    assert config.digest.smtp is None  # not SmtpConfig(localhost): nothing was given
    with pytest.raises(ConfigError) as info:
        config_mod.require_mail(config)
    error = info.value
    assert (error.line, error.key) == (2, "digest.smtp") and str(error).startswith(f"{config.path}:2: digest.smtp: ")


def test_smtp_given_takes_the_tables_defaults(tmp_path):
    config = load_text(tmp_path, """\
        feeds: [https://example.org/feed.xml]
        digest:
          to: analyst@example.org
          from: monitor@example.org
          smtp: {port: 2525}
        """)
    assert config_mod.require_mail(config).smtp == config_mod.SmtpConfig(port=2525)
    assert config.digest.smtp.host == config_mod.SMTP_SETTINGS["host"].default == "localhost"


def test_the_top_level_and_stories_defaults_are_the_tables(tmp_path):
    """The settings no record of their own carries: what a config of nothing but its feeds gets."""
    config = load_text(tmp_path, "feeds: []\n")
    top, stories = config_mod.all_settings()[""], config_mod.all_settings()["stories"]
    assert config.database == config.path.parent / top["database"].default
    assert config.rules == config.path.parent / top["rules"].default
    assert config.feeds == top["feeds"].default and config.digest is None is top["digest"].default
    assert config.story_window == stories["window"].default


@pytest.mark.parametrize("section, table", [(s, t) for s, t in config_mod.all_settings().items() if s not in ("", "stories")])
def test_the_records_defaults_are_the_tables(section, table):
    record = {"feeds[]": config_mod.FeedConfig("http://a.example/", "a"),
              "defaults": config_mod.FeedConfig("http://a.example/", "a"), "fetch": config_mod.FetchConfig(),
              "digest": config_mod.DigestConfig(), "digest.smtp": config_mod.SmtpConfig(),
              "archive": config_mod.ArchiveConfig()}[section]
    for key, setting in table.items():
        if key in ("url", "name", "smtp"):
            continue
        assert getattr(record, "sender" if key == "from" else key) == setting.default, f"{section}.{key}"
