"""Webhook bodies and headers as templates: a string that is one variable keeps its JSON type,
anything else is text rendered on its own; a body template renders to JSON with `| json`; the
sample decides at validation what a send will render."""

from __future__ import annotations

from typing import Any

import pytest

from nerve.channels.context import of_event
from nerve.webhooks.bodies import RequestTemplate, problems, render_body, render_headers

SEEN: dict[str, Any] = {
    "person": {"email": "anna@example.com", "traits": {"first_name": 'An"na', "vip": True},
               "computed": {"order_count": 3, "total_spent": 219.8}},
    **of_event({"event": "Order Completed", "properties": {
        "order_id": "S-1", "total": 10.5, "products": [{"sku": "A"}, {"sku": "B"}]}}),
}  # fmt: skip


@pytest.mark.parametrize(
    ("source", "rendered"),
    [
        ("{{ person.computed.order_count }}", 3),
        ("{{ order.total }}", 10.5),
        ("{{ person.traits.vip }}", True),
        ("{{ person.traits.missing }}", None),
        ("{{ cart.id }}", None),  # no cart in an order's event: null, not the sample's
        ("{{ order.products[1] }}", {"sku": "B"}),
        ("{{ order.products.size }}", "2"),  # Liquid's own reading: text
        ("{{ person.traits.first_name }}!", 'An"na!'),
        ("no liquid here", "no liquid here"),
    ],
)
def test_a_lone_variable_keeps_its_type_and_anything_else_is_text(
    source: str, rendered: Any
) -> None:
    body = render_body(RequestTemplate(body={"value": source}), SEEN)
    assert body == {"value": rendered}


def test_a_body_template_writes_values_as_json() -> None:
    template = '{"name": {{ person.traits.first_name | json }}, "nick": {{ person.nick | json }}}'
    assert render_body(RequestTemplate(body_template=template), SEEN) == {
        "name": 'An"na', "nick": None
    }  # fmt: skip
    with pytest.raises(ValueError, match="did not render to JSON"):
        render_body(RequestTemplate(body_template="{{ person.email }}"), SEEN)


def test_header_values_are_one_line() -> None:
    headers = {"X-Who": "{{ person.email }}\n  and {{ order.order_id }}"}
    assert render_headers(RequestTemplate(headers=headers), SEEN) == {
        "X-Who": "anna@example.com and S-1"
    }


def test_whether_the_person_is_needed() -> None:
    assert not RequestTemplate(body={"list": "vip", "n": 1}).personal
    assert RequestTemplate(body={"list": ["{{ person.email }}"]}).personal
    assert RequestTemplate(headers={"X-Id": "{% if order %}1{% endif %}"}).personal
    assert RequestTemplate(body_template='{"a": 1}').personal is False


def test_problems_are_found_against_the_sample_at_their_paths() -> None:
    found = problems(RequestTemplate(
        body={"a": ["{{ person.email }}", "{{ digest.count }}"], "b": {"c": "{% if %}"}},
        headers={"webhook-id": "x", "X-Ok": "{{ person.email }}", "X-Two": "a\nb"},
    ))  # fmt: skip
    assert [p["path"] for p in found] == [
        "body.a[1]", "body.b.c", "headers.webhook-id", "headers.X-Two"
    ]  # fmt: skip
    assert "unknown name 'digest'" in found[0]["reason"]
    assert problems(RequestTemplate(body_template='{"n": {{ person.computed.order_count }}}')) == []
