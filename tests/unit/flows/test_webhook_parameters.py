"""A webhook node's `with` is checked when a flow is validated, tested or published — its
fields, and its URL against the outbound policy, each problem at its path — while a stored
version keeps loading as it was published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nerve.cli import app
from nerve.flows.definition import InvalidFlow, load
from nerve.outbound.policy import OutboundPolicy
from nerve.settings import get_settings

STRICT = OutboundPolicy()


def _flow(with_: str, *more: str) -> str:
    nodes = "".join(f"\n  - {node}" for node in more)
    return (
        "name: remind\ntrigger: {event: Checkout Started}\nnodes:\n"
        f"  - {{id: remind, action: webhook, with: {with_}}}{nodes}"
    )


def _problems(text: str, outbound: OutboundPolicy = STRICT) -> dict[str, str]:
    with pytest.raises(InvalidFlow) as refused:
        load(text, outbound)
    return {p["path"]: p["reason"] for p in refused.value.problems}


@pytest.mark.parametrize(
    ("with_", "path", "reason"),
    [
        ("{body: {step: 1}}", "url", "is required"),
        ("{url: [https://shop.example]}", "url", "must be an http or https URL"),
        ("{url: https://shop.example, bdy: {}}", "bdy",
         "is not a field; allowed here: endpoint, url, body, person"),
        ("{url: https://shop.example, person: null}", "person",
         "must be true, false or {identifiers: [email, ...], traits: [first_name, ...]}"),
        ("{url: https://shop.example, person: {identifiers: email}}", "person.identifiers",
         "must be a list, not text"),
        ("{url: 'file:///etc/passwd'}", "url", "must be an http or https URL, not file"),
        ("{url: 'http://169.254.169.254/'}", "url", "169.254.169.254 is link-local (RFC 3927)"),
    ],
)  # fmt: skip
def test_each_problem_of_a_webhooks_parameters_is_at_its_path(
    with_: str, path: str, reason: str
) -> None:
    problems = _problems(_flow(with_))
    assert list(problems) == [f"nodes[0].with.{path}"]
    assert problems[f"nodes[0].with.{path}"].startswith(reason)


def test_parameters_and_graph_problems_are_reported_together() -> None:
    problems = _problems(
        _flow("{url: 'http://10.0.0.1/'}", "{id: again, branch: [{else: true, goto: nowhere}]}")
    )
    assert set(problems) == {"nodes[0].with.url", "nodes[1].branch[0].goto"}


def test_an_allowed_target_passes_and_a_stored_version_loads_unchecked() -> None:
    text = _flow("{url: 'http://10.0.0.1/erp', person: false}")
    load(text, OutboundPolicy.allowing(["10.0.0.0/8"]))
    # A version stored before the check (or under another policy) still loads: the call is
    # checked when it is made.
    load(_flow("{url: 'gopher://10.0.0.1/', extra: 1}"))


def test_nerve_flows_validate_checks_under_the_processs_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = tmp_path / "erp.yaml"
    flow.write_text(_flow("{url: 'http://10.0.0.1/orders'}"))

    def validate(**env: str) -> tuple[int, dict[str, object]]:
        get_settings.cache_clear()  # the settings are read once per process
        try:
            result = CliRunner().invoke(app, ["flows", "validate", str(flow), "--json"], env=env)
        finally:
            get_settings.cache_clear()
        return result.exit_code, json.loads(result.stdout)

    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    code, refused = validate(NERVE_OUTBOUND_ALLOW="")
    assert code == 1 and refused["error"]["details"][0]["path"] == "nodes[0].with.url"  # type: ignore[index]
    assert validate(NERVE_OUTBOUND_ALLOW="10.0.0.0/8") == (
        0,
        {"valid": True, "name": "remind", "nodes": 1},
    )
