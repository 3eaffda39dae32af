"""Flow features on the time-travel simulator (the code path of `nerve flows test`): re-entry,
A/B/n splits, waiting until a local time of day, branches and correlated waits for an event."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from nerve.flows.definition import FlowDefinition, InvalidFlow, load
from nerve.flows.interpreter import Act, Run, decide
from nerve.flows.simulate import Entry, Simulation, read_scenario

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, before daylight saving time in Europe/US


def _event(
    person: str, name: str, at: datetime, context: dict[str, Any] | None = None, **properties: Any
) -> dict[str, Any]:
    event = {"userId": person, "event": name, "timestamp": at.isoformat(), "properties": properties}
    return event | ({"context": context} if context else {})


def _simulate(flow: FlowDefinition, events: list[dict[str, Any]]) -> list[Entry]:
    """Through the scenario reader, as `nerve flows test --events` does."""
    scenario = b"\n".join(orjson.dumps(event) for event in events).decode()
    return Simulation(flow).run(read_scenario(scenario))


def _started(timeline: list[Entry]) -> list[tuple[str, str, datetime]]:
    return [
        (e.detail["profile"], e.detail["key"], e.at) for e in timeline if e.what == "run started"
    ]


def _actions(timeline: list[Entry]) -> list[tuple[str, str, datetime]]:
    """(person, action node, when) for every action taken."""
    people = {e.run: e.detail["profile"] for e in timeline if e.what == "run started"}
    return [
        (people[e.run], e.detail["node"], e.at) for e in timeline if e.what.startswith("action ")
    ]


# --- re-entry ----------------------------------------------------------------------------------


def _checkout_flow(reentry: str) -> FlowDefinition:
    return load(
        f"""
name: checkout_follow_up
trigger: {{event: Checkout Started, key: properties.cart_id, reentry: {reentry}}}
nodes:
  - id: remind
    action: webhook
    with: {{url: "http://127.0.0.1/remind"}}
"""
    )


def test_once_starts_one_run_per_person_whatever_the_cart() -> None:
    timeline = _simulate(
        _checkout_flow("once"),
        [
            _event("anna", "Checkout Started", START, cart_id="c1"),
            _event("anna", "Checkout Started", START + timedelta(days=1), cart_id="c2"),
            _event("anna", "Checkout Started", START + timedelta(days=400), cart_id="c3"),
            _event("ben", "Checkout Started", START + timedelta(days=2), cart_id="c4"),
        ],
    )
    assert [(who, key) for who, key, _ in _started(timeline)] == [("anna", "c1"), ("ben", "c4")]


def test_once_per_key_starts_one_run_per_cart() -> None:
    timeline = _simulate(
        _checkout_flow("once_per_key"),
        [
            _event("anna", "Checkout Started", START, cart_id="c1"),
            _event("anna", "Checkout Started", START + timedelta(hours=1), cart_id="c1"),
            _event("anna", "Checkout Started", START + timedelta(days=30), cart_id="c1"),
            _event("anna", "Checkout Started", START + timedelta(hours=2), cart_id="c2"),
            _event("ben", "Checkout Started", START + timedelta(hours=3), cart_id="c1"),
        ],
    )
    assert [(who, key) for who, key, _ in _started(timeline)] == [
        ("anna", "c1"),
        ("anna", "c2"),
        ("ben", "c1"),  # the key counts per person
    ]


def test_always_starts_a_run_for_every_trigger() -> None:
    timeline = _simulate(
        _checkout_flow("always"),
        [
            _event("anna", "Checkout Started", START + timedelta(minutes=n), cart_id="c1")
            for n in range(3)
        ],
    )
    assert len(_started(timeline)) == 3
    assert [who for who, _, _ in _actions(timeline)] == ["anna"] * 3


def test_every_days_allows_one_run_per_person_in_that_many_days() -> None:
    day = timedelta(days=1)
    timeline = _simulate(
        _checkout_flow("{every_days: 7}"),
        [
            _event("anna", "Checkout Started", START, cart_id="c1"),
            _event("anna", "Checkout Started", START + 3 * day, cart_id="c2"),  # too soon
            _event(
                "anna", "Checkout Started", START + 7 * day - timedelta(minutes=1), cart_id="c3"
            ),
            # Seven days after the run that started (the refused ones do not restart the clock).
            _event(
                "anna", "Checkout Started", START + 7 * day + timedelta(minutes=1), cart_id="c4"
            ),
            _event("anna", "Checkout Started", START + 10 * day, cart_id="c5"),  # 3 days later
            _event("ben", "Checkout Started", START + 3 * day, cart_id="c6"),  # others unaffected
        ],
    )
    assert [(who, key) for who, key, _ in _started(timeline)] == [
        ("anna", "c1"),
        ("ben", "c6"),
        ("anna", "c4"),
    ]


# --- split -------------------------------------------------------------------------------------

SPLIT_FLOW = load(
    """
name: welcome_offer
trigger: {event: Signed Up, reentry: always}
nodes:
  - id: offer
    split:
      - {percent: 50, goto: control, name: no offer}
      - {percent: 30, goto: discount}
      - {percent: 20, goto: free_shipping}
  - id: control
    action: webhook
    with: {url: "http://127.0.0.1/welcome"}
    next: end
  - id: discount
    action: webhook
    with: {url: "http://127.0.0.1/welcome", body: {coupon: TEN}}
    next: end
  - id: free_shipping
    action: webhook
    with: {url: "http://127.0.0.1/welcome", body: {coupon: SHIP}}
"""
)


def _paths(people: list[str], repeat: int = 1) -> dict[str, list[str]]:
    """The path each person took, in the order of their sign-ups."""
    events = [
        _event(person, "Signed Up", START + timedelta(days=round_, seconds=n))
        for round_ in range(repeat)
        for n, person in enumerate(people)
    ]
    taken: dict[str, list[str]] = {}
    for person, node, _ in _actions(_simulate(SPLIT_FLOW, events)):
        taken.setdefault(person, []).append(node)
    return taken


def test_a_split_sends_a_person_down_the_same_path_every_time() -> None:
    people = [f"customer-{n}" for n in range(300)]
    first = _paths(people, repeat=3)
    assert all(len(paths) == 3 and len(set(paths)) == 1 for paths in first.values())
    # Another simulation, other people around and another order: the same choices.
    again = _paths([*reversed(people), *(f"other-{n}" for n in range(100))])
    assert {p: first[p][0] for p in people} == {p: again[p][0] for p in people}
    assert len({paths[0] for paths in first.values()}) == 3


def test_a_split_follows_its_percentages() -> None:
    taken = Counter(
        paths[0] for paths in _paths([f"c{n}@example.com" for n in range(2000)]).values()
    )
    assert sum(taken.values()) == 2000
    # Loose bounds: about ±4.5 standard deviations of a fair draw.
    assert 900 <= taken["control"] <= 1100
    assert 510 <= taken["discount"] <= 690
    assert 325 <= taken["free_shipping"] <= 475


# --- wait until a time of day ------------------------------------------------------------------


def _morning_flow(timezone: str = "") -> FlowDefinition:
    zone = f", timezone: {timezone}" if timezone else ""
    return load(
        f"""
name: morning_nudge
trigger: {{event: Cart Abandoned, reentry: always}}
nodes:
  - id: morning
    wait: {{until: "09:00"{zone}}}
  - id: nudge
    action: webhook
    with: {{url: "http://127.0.0.1/nudge"}}
"""
    )


@pytest.mark.parametrize(
    ("zone", "trigger_at", "nudge_at"),
    [
        # 07:00 in Berlin (UTC+1): later the same morning, 09:00 CET.
        ("Europe/Berlin", "2026-03-02T06:00:00+00:00", "2026-03-02T08:00:00+00:00"),
        # 11:00 in Berlin: 09:00 has passed, so the next morning.
        ("Europe/Berlin", "2026-03-02T10:00:00+00:00", "2026-03-03T08:00:00+00:00"),
        # The clocks go forward that night: 09:00 CEST is 07:00 UTC.
        ("Europe/Berlin", "2026-03-28T10:00:00+00:00", "2026-03-29T07:00:00+00:00"),
        # 19:00 of the day before in Los Angeles (UTC-8): its next morning, not the UTC date's.
        ("America/Los_Angeles", "2026-03-02T03:00:00+00:00", "2026-03-02T17:00:00+00:00"),
        # 08:59 in Tokyo (UTC+9): one minute later.
        ("Asia/Tokyo", "2026-03-01T23:59:00+00:00", "2026-03-02T00:00:00+00:00"),
    ],
)
def test_wait_until_is_the_next_such_time_in_the_persons_time_zone(
    zone: str, trigger_at: str, nudge_at: str
) -> None:
    at = datetime.fromisoformat(trigger_at)
    # The time zone the person's device reports (Segment's context.timezone).
    timeline = _simulate(
        _morning_flow(), [_event("anna", "Cart Abandoned", at, {"timezone": zone})]
    )
    assert [when for _, _, when in _actions(timeline)] == [datetime.fromisoformat(nudge_at)]


def test_wait_until_without_a_known_time_zone_uses_utc() -> None:
    before, after = START + timedelta(hours=6), START + timedelta(hours=10)
    timeline = _simulate(
        _morning_flow(),
        [
            _event("anna", "Cart Abandoned", before),
            _event("ben", "Cart Abandoned", after, {"timezone": "Not/A_Zone"}),
        ],
    )
    assert [(who, when) for who, _, when in _actions(timeline)] == [
        ("anna", START + timedelta(hours=9)),
        ("ben", START + timedelta(days=1, hours=9)),
    ]


def test_wait_until_in_a_named_time_zone_ignores_the_persons() -> None:
    timeline = _simulate(
        _morning_flow("America/New_York"),
        [_event("anna", "Cart Abandoned", START + timedelta(hours=6), {"timezone": "Asia/Tokyo"})],
    )
    # 01:00 in New York (UTC-5): 09:00 there is 14:00 UTC.
    assert [when for _, _, when in _actions(timeline)] == [START + timedelta(hours=14)]


def test_a_time_of_day_must_be_quoted_and_a_time_zone_must_exist() -> None:
    base = "name: f\ntrigger: {event: E}\nnodes:\n  - id: morning\n    wait: "
    # Unquoted, YAML 1.1 reads 18:00 as the number 1080 (sexagesimal): not 00:18.
    with pytest.raises(InvalidFlow) as unquoted:
        load(base + "{until: 18:00}\n")
    assert "nodes[0].wait.until" in {p["path"] for p in unquoted.value.problems}
    assert "quote" in str(unquoted.value)
    with pytest.raises(InvalidFlow) as unknown:
        load(base + '{until: "09:00", timezone: Europe/Berlinn}\n')
    assert "nodes[0].wait.timezone" in {p["path"] for p in unknown.value.problems}
    assert load(base + '{until: "18:00", timezone: Europe/Berlin}\n').nodes[0].wait is not None


# --- branch ------------------------------------------------------------------------------------

BRANCH_FLOW = load(
    """
name: cart_reminder
trigger: {event: Checkout Started, key: properties.cart_id}
nodes:
  - id: big_cart
    branch:
      - when: properties.total >= 100
        goto: with_coupon
      - else: true
        goto: plain
  - id: plain
    action: webhook
    with: {url: "http://127.0.0.1/remind"}
    next: end
  - id: with_coupon
    action: webhook
    with: {url: "http://127.0.0.1/remind", body: {coupon: FIVE}}
"""
)


def test_a_branch_on_event_data_takes_each_path() -> None:
    timeline = _simulate(
        BRANCH_FLOW,
        [
            _event("anna", "Checkout Started", START, cart_id="a", total=150),
            _event("ben", "Checkout Started", START, cart_id="b", total=40),
            _event("cleo", "Checkout Started", START, cart_id="c", total=100),
            _event("dora", "Checkout Started", START, cart_id="d"),  # no total: not >= 100
        ],
    )
    taken = {who: node for who, node, _ in _actions(timeline)}
    assert taken == {"anna": "with_coupon", "ben": "plain", "cleo": "with_coupon", "dora": "plain"}


def test_a_branch_without_a_matching_case_goes_to_the_node_below() -> None:
    flow = load(
        """
name: vip_first
trigger: {event: Checkout Started, reentry: always}
nodes:
  - id: vip
    branch: [{when: 'properties.tier == "gold"', goto: concierge}]
  - id: everyone
    action: webhook
    with: {url: "http://127.0.0.1/everyone"}
    next: end
  - id: concierge
    action: webhook
    with: {url: "http://127.0.0.1/concierge"}
"""
    )
    timeline = _simulate(
        flow,
        [
            _event("anna", "Checkout Started", START, tier="gold"),
            _event("ben", "Checkout Started", START, tier="silver"),
        ],
    )
    assert {who: node for who, node, _ in _actions(timeline)} == {
        "anna": "concierge",
        "ben": "everyone",
    }


def test_a_branch_on_run_data_follows_the_split_the_person_took() -> None:
    flow = load(
        """
name: coupon_test
trigger: {event: Cart Abandoned}
nodes:
  - id: group
    split: [{percent: 50, goto: control}, {percent: 50, goto: coupon_group}]
  - id: control
    wait: 1d
    next: reminder
  - id: coupon_group
    wait: 1h
  - id: reminder
    branch:
      - {when: 'run.splits.group == "coupon_group"', goto: with_coupon}
      - {else: true, goto: plain}
  - id: plain
    action: webhook
    with: {url: "http://127.0.0.1/remind"}
    next: end
  - id: with_coupon
    action: webhook
    with: {url: "http://127.0.0.1/remind", body: {coupon: FIVE}}
"""
    )
    events = [_event(f"customer-{n}", "Cart Abandoned", START) for n in range(20)]
    taken = {(node, when - START) for _, node, when in _actions(_simulate(flow, events))}
    assert taken == {("with_coupon", timedelta(hours=1)), ("plain", timedelta(days=1))}


@pytest.mark.parametrize(("vip", "expected"), [(True, "with_coupon"), (False, "plain")])
def test_a_branch_on_profile_data_takes_each_path(vip: bool, expected: str) -> None:
    # Decided by the interpreter from the profile the run carries.
    flow = load(
        BRANCH_FLOW.model_dump_json(by_alias=True).replace(
            "properties.total >= 100", "profile.traits.vip == true"
        )
    )
    run = Run("run-1", "anna", {"event": "Checkout Started"}, {"traits": {"vip": vip}})
    decision = decide(flow, run, "big_cart", START)
    assert isinstance(decision, Act) and decision.node == expected
    assert run.data["path"] == ["big_cart"]


# --- wait_for_event correlation ----------------------------------------------------------------

FOLLOW_UP = load(
    """
name: cart_follow_up
trigger: {event: Product Added, key: properties.cart_id}
nodes:
  - id: wait_checkout
    wait_for_event:
      event: Checkout Started
      where: properties.cart_id == trigger.properties.cart_id
      timeout: 1h
      on_event: thanks
      on_timeout: nudge
  - id: nudge
    action: webhook
    with: {url: "http://127.0.0.1/nudge"}
    next: end
  - id: thanks
    action: webhook
    with: {url: "http://127.0.0.1/thanks"}
"""
)


def test_an_event_for_another_cart_does_not_end_the_wait() -> None:
    timeline = _simulate(
        FOLLOW_UP,
        [
            _event("anna", "Product Added", START, cart_id="c1"),
            _event("anna", "Checkout Started", START + timedelta(minutes=20), cart_id="c2"),
            _event("ben", "Checkout Started", START + timedelta(minutes=30), cart_id="c1"),
        ],
    )
    assert _actions(timeline) == [("anna", "nudge", START + timedelta(hours=1))]


def test_the_correlated_event_ends_the_wait_after_an_unrelated_one() -> None:
    timeline = _simulate(
        FOLLOW_UP,
        [
            _event("anna", "Product Added", START, cart_id="c1"),
            _event("anna", "Checkout Started", START + timedelta(minutes=20), cart_id="c2"),
            _event("anna", "Checkout Started", START + timedelta(minutes=40), cart_id="c1"),
        ],
    )
    assert _actions(timeline) == [("anna", "thanks", START + timedelta(minutes=40))]
