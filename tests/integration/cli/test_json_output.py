"""Every command that has `--json` prints exactly one JSON object on stdout, when it works and
when it fails (errors in the API's shape), and nothing else. The catalogue below must name
every such command: a new one fails the first test until it is added.

The commands run in-process (Typer's runner) so that all of them fit in a few seconds; the
acceptance tests run the real executable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from nerve.cli import app
from nerve.db.engine import write_transaction
from nerve.secrets.vault import new_key
from nerve.settings import get_settings
from nerve.workspaces.service import DEFAULT_WORKSPACE, ensure_workspace
from tests.factories import make_key

EXAMPLES = Path(__file__).parents[3] / "flows"
FLOW, SCENARIO = EXAMPLES / "abandoned_cart.yaml", EXAMPLES / "abandoned_cart.scenario.jsonl"
TEMPLATE = EXAMPLES.parent / "templates" / "cart_reminder_1.yaml"
SUPPRESSIONS = Path(__file__).parent / "suppressions.csv"
POLICY = Path(__file__).parent / "delivery_policy.yaml"
CATALOG = Path(__file__).parent / "catalog.ndjson"
SLOT = Path(__file__).parent / "home_banner_slot.yaml"
SEGMENT = Path(__file__).parent / "running_fans_segment.yaml"
SECRET_KEY = new_key()

# command: (arguments that work, arguments that fail, the failure's code). A leading "{staff}"
# runs the command with a staff key in NERVE_API_KEY (a role that may do none of these);
# "{analyst}" or "{builder}" stands for the id of a key with that role.
CATALOGUE: dict[str, tuple[list[str] | None, list[str] | None, str]] = {
    "sources create": (["shop", "--kind", "web"], ["pos", "--kind", "till"], "invalid_request"),
    "sources list": ([], ["{staff}"], "forbidden"),
    "sms inbound-url": (["shop"], ["no-such-source"], "not_found"),  # before shop's revoked
    "sources rotate": (["shop"], ["kiosk"], "not_found"),
    "sources revoke": (["shop"], ["shop"], "conflict"),  # the second time
    "keys create": (["--role", "analyst"], ["--role", "owner"], "invalid_request"),
    "keys list": ([], ["{staff}"], "forbidden"),
    "keys rotate": (["{analyst}"], ["key_unknown"], "not_found"),
    "keys revoke": (["{builder}"], ["{builder}"], "conflict"),
    "flows validate": ([str(FLOW)], ["missing.yaml"], "invalid_request"),
    "flows apply": ([str(FLOW)], [str(FLOW), "--env", "prod"], "invalid_request"),
    "flows test": (
        [str(FLOW), "--events", str(SCENARIO)],
        [str(FLOW), "--events", "missing.jsonl"],
        "invalid_request",
    ),
    "flows prune": ([], ["{staff}"], "forbidden"),
    "dlq list": ([], ["{staff}"], "forbidden"),
    "dlq replay": (None, ["dlq_unknown"], "not_found"),  # a dead letter takes a failed flow
    "secrets new-key": ([], None, ""),  # touches nothing that could fail
    "secrets set": (
        ["smtp.password", "--from-file", str(FLOW)],  # any file: its text is the value
        ["Bad Name", "--from-file", str(FLOW)],
        "invalid_request",
    ),
    "secrets list": ([], ["{staff}"], "forbidden"),
    "secrets delete": (["smtp.password"], ["smtp.password"], "not_found"),  # the second time
    "secrets rotate": ([], ["{staff}"], "forbidden"),
    "templates validate": ([str(TEMPLATE)], ["missing.yaml"], "invalid_request"),
    "templates apply": ([str(TEMPLATE)], ["missing.yaml"], "invalid_request"),
    "templates preview": (["cart_reminder_1"], ["no_such_template"], "not_found"),
    "slots validate": ([str(SLOT)], ["missing.yaml"], "invalid_request"),
    "slots apply": ([str(SLOT)], ["{staff}", str(SLOT)], "forbidden"),
    "segments validate": ([str(SEGMENT)], ["missing.yaml"], "invalid_request"),
    "segments preview": ([str(SEGMENT)], ["{staff}", str(SEGMENT)], "forbidden"),
    "segments apply": ([str(SEGMENT)], ["{staff}", str(SEGMENT)], "forbidden"),
    "segments list": ([], ["{staff}"], "forbidden"),
    "email domain": (["shop.example"], ["{staff}", "shop.example"], "forbidden"),
    "push vapid": ([], ["{staff}"], "forbidden"),
    "suppressions import": ([str(SUPPRESSIONS)], ["missing.csv"], "invalid_request"),
    "suppressions export": ([], ["{staff}"], "forbidden"),
    "suppressions remove": (["gone@example.com"], ["gone@example.com"], "not_found"),
    "suppressions read-bounces": (None, ["--maildir", "no-such-maildir"], "invalid_request"),
    "webhooks create": (
        ["crm", "https://crm.shop.example/nerve"],
        ["erp", "http://169.254.169.254/latest"],  # the cloud's metadata service
        "invalid_request",
    ),
    "webhooks list": ([], ["{staff}"], "forbidden"),
    "slack add": (
        ["team-alerts", "https://hooks.slack.com/services/T0/B0/XXXX"],
        ["alerts", "http://169.254.169.254/latest"],  # the cloud's metadata service
        "invalid_request",
    ),
    "slack list": ([], ["{staff}"], "forbidden"),
    "slack remove": (["team-alerts"], ["team-alerts"], "not_found"),  # the second time
    "slack test": (None, ["nowhere"], "not_found"),  # a real destination would be called
    "webhooks rotate": (["crm"], ["erp"], "not_found"),
    "webhooks enable": (["crm"], ["erp"], "not_found"),
    "sms replay": ([], ["{staff}"], "forbidden"),
    "policy show": ([], ["{staff}"], "forbidden"),
    "policy set": ([str(POLICY)], ["missing.yaml"], "invalid_request"),
    "catalog import": ([str(CATALOG)], ["{staff}", str(CATALOG)], "forbidden"),
    "catalog quality": ([], None, ""),  # every role that reaches it may read the catalog
    "connectors add": (
        ["shopify", "shop-main", "--secret", "shpss_0123456789"],
        ["magento", "shop-two", "--secret", "shpss_0123456789"],
        "invalid_request",
    ),
    "connectors list": ([], ["{staff}"], "forbidden"),
    "connectors dead-letters": ([], ["{staff}"], "forbidden"),
    "connectors replay": (None, ["999"], "not_found"),  # a dead letter takes a bad delivery
    "connectors remove": (["shop-main"], ["shop-main"], "not_found"),  # the second time
    "recommendations train": ([], ["{staff}"], "forbidden"),
    "recommendations runs": ([], None, ""),  # every role may read them (staff: at the counter)
    "audiences add": (
        None,
        ["meta", "--segment", "nobody", "--destination", "csv"],
        "invalid_request",
    ),  # a success needs a segment: tests/integration/audiences
    "audiences list": ([], ["{staff}"], "forbidden"),
    "audiences export": (None, ["aud_unknown", "--output", "unused.csv"], "not_found"),
    "audiences remove": (None, ["aud_unknown"], "not_found"),
    # A success needs a segment and an audience flow: tests/integration/broadcasts/test_cli.py
    "broadcasts start": (None, ["no_such_flow", "--yes"], "not_found"),
    "broadcasts list": (None, ["no_such_flow"], "not_found"),
    "broadcasts pause": (None, ["bc_unknown"], "not_found"),
    "broadcasts resume": (None, ["{staff}", "bc_unknown"], "forbidden"),
    "broadcasts cancel": (None, ["bc_unknown"], "not_found"),
}


def _json_commands(group: Any, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from _json_commands(command, f"{path} ")
        elif any("--json" in getattr(param, "opts", []) for param in command.params):
            yield path


def test_the_catalogue_names_every_command_with_json() -> None:
    assert set(_json_commands(typer.main.get_command(app))) == set(CATALOGUE)


class Cli:
    """Runs `nerve ... --json` in-process against the test's database."""

    def __init__(self, database_url: str, engine: Engine) -> None:
        self.database_url, self.engine = database_url, engine
        self.runner = CliRunner()
        self.keys: dict[str, str] = {}

    def run(self, command: str, args: list[str]) -> tuple[int, dict[str, Any]]:
        env = {"NERVE_DATABASE_URL": self.database_url, "NERVE_API_KEY": "",
               "NERVE_SECRET_KEY": SECRET_KEY}  # fmt: skip
        if args[:1] == ["{staff}"]:
            env["NERVE_API_KEY"], args = self.key("staff"), args[1:]
        args = [self.key_id(a[1:-1]) if a.startswith("{") else a for a in args]
        get_settings.cache_clear()  # the settings are read once per process
        try:
            result = self.runner.invoke(app, [*command.split(), *args, "--json"], env=env)
        finally:
            get_settings.cache_clear()
        lines = result.stdout.splitlines()
        assert len(lines) == 1, f"{command}: stdout {result.stdout!r}, stderr {result.stderr!r}"
        found = json.loads(lines[0])
        assert isinstance(found, dict)
        return result.exit_code, found

    def key(self, role: str) -> str:
        """A key of the workspace the operator's commands use."""
        if role not in self.keys:
            with write_transaction(self.engine) as conn:
                workspace_id = ensure_workspace(conn, DEFAULT_WORKSPACE)
            self.keys[role] = make_key(self.engine, workspace_id, role)
        return self.keys[role]

    def key_id(self, role: str) -> str:
        return self.key(role).removeprefix("nrv_").partition(".")[0]


@pytest.fixture
def cli(database_url: str, engine: Engine) -> Cli:
    return Cli(database_url, engine)


def test_every_json_command_prints_one_object_when_it_works_and_when_it_fails(cli: Cli) -> None:
    for command, (works, fails, code) in CATALOGUE.items():
        if works is not None:
            exit_code, output = cli.run(command, works)
            assert exit_code == 0 and "error" not in output, (command, output)
        if fails is None:
            continue
        exit_code, output = cli.run(command, fails)
        assert exit_code == 1, (command, output)
        assert set(output) == {"error"}, (command, output)
        assert set(output["error"]) == {"code", "message", "details"}
        assert output["error"]["code"] == code, (command, output)
