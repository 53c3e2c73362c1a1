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
