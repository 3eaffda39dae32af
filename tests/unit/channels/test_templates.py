"""Templates are checked before they are kept: syntax, names, sandbox limits, a strict render for
the sample person; what is kept renders leniently, with CSS inlined and a text part derived."""

from __future__ import annotations

import http.server
import threading
from typing import Any

import pytest

from nerve.channels import templates
from nerve.channels.html_text import html_to_text
from nerve.channels.sample import SAMPLE
from nerve.errors import InvalidTemplate


def _template(**parts: str) -> dict[str, Any]:
    return {"name": "t", "subject": "Hi", "html": "<p>Hi</p>", **parts}


def _problems(**parts: str) -> list[dict[str, str]]:
    with pytest.raises(InvalidTemplate) as refused:
        templates.check(_template(**parts))
    return refused.value.problems


@pytest.mark.parametrize(
    "html",
    [
        "{{ self.__class__ }}",
        "{{ person.__class__.__mro__ }}",
        "{{ ''.__class__ }}",
        "{% for x in (1..100000) %}{% for y in (1..1000) %}x{% endfor %}{% endfor %}",
        "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..20) %}{% assign s = s | append: s %}"
        "{% endfor %}{{ s }}",
        "{% include 'x' %}",
        "{{ person | nofilter }}",
        "{% if x %}unclosed",
    ],
)
def test_escapes_and_runaways_are_refused_at_save_time(html: str) -> None:
    [problem] = _problems(html=html)
    assert problem["path"].startswith("html")
    assert problem["reason"]


def test_a_variable_the_sample_lacks_needs_a_default() -> None:
    [problem] = _problems(subject="Hi {{ person.traits.nickname }}")
    assert problem["path"] == "subject:1:7" and "default" in problem["reason"]
    templates.check(_template(subject="Hi {{ person.traits.nickname | default: 'you' }}"))


def test_every_problem_is_reported_with_its_part_line_and_column() -> None:
    problems = _problems(subject="{{ persn.name }}", html="<p>\n{{ person | nofilter }}</p>")
    assert [p["path"] for p in problems] == ["subject:1:4", "html:2:13"]
    assert "unknown name 'persn'" in problems[0]["reason"]


def test_a_send_renders_leniently_what_the_check_let_through() -> None:
    source = templates.check(
        _template(
            subject="{{ person.traits.first_name | default: 'Hi' }}, {{ cart.products.size }} item",
            html="<style>p { color: red }</style><p>Hello {{ person.traits.first_name }}</p>",
        )
    )
    compiled = templates.compile_source(source)
    assert 'style="color: red;"' in compiled["html"] and "<style>" not in compiled["html"]
    stranger = SAMPLE | {"person": {"traits": {}}}
    rendered = templates.render(compiled, stranger)
    assert rendered["subject"] == "Hi, 1 item"
    assert '<p style="color: red;">Hello </p>' in rendered["html"]
    assert rendered["text"] == "Hello\n"


def test_the_text_part_keeps_links_and_drops_styles() -> None:
    html = (
        "<html><head><title>x</title><style>p{}</style></head><body><h1>Sale</h1>"
        "<p>Shoes <a href='https://s.example/p'>here</a><br>now</p><ul><li>a</li><li>b</li></ul>"
        "<img src='x.png' alt='Logo'></body></html>"
    )
    assert (
        html_to_text(html) == "Sale\n\nShoes here (https://s.example/p)\nnow\n\n- a\n- b\n\nLogo\n"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "Bad Name"), ("subject", ""), ("html", ""), ("channel", "fax"), ("extra", "x")],
)
def test_malformed_templates_are_refused_with_the_field(field: str, value: str) -> None:
    [problem] = _problems(**{field: value})
    assert problem["path"] == field


MJML = """<mjml><mj-body><mj-section><mj-column>
<mj-text>Hello {{ person.traits.first_name | default: 'there' }}</mj-text>
<mj-button href="{{ shop.url }}/cart">Back to your cart</mj-button>
</mj-column></mj-section></mj-body></mjml>"""


def test_an_mjml_layout_compiles_to_responsive_html_at_save_time() -> None:
    source = templates.check({"name": "t", "subject": "Hi", "mjml": MJML})
    compiled = templates.compile_source(source)
    assert "@media only screen" in compiled["html"]  # MJML's responsive columns
    rendered = templates.render(compiled, {**SAMPLE, "shop": {"url": "https://shop.example"}})
    assert f"Hello {SAMPLE['person']['traits']['first_name']}" in rendered["text"]
    assert 'href="https://shop.example/cart"' in rendered["html"]


@pytest.mark.parametrize(
    ("parts", "reason"),
    [
        ({"mjml": "<mj-body></mj-body>"}, "starts with <mjml>"),
        ({"mjml": "<mjml><mj-body><mj-foo>x</mj-foo></mj-body></mjml>"}, "'mj-foo'"),
        ({"mjml": "<mjml><mj-body>{{ person.nope }}</mj-body></mjml>"}, "nope"),
        ({"mjml": MJML, "html": "<p>x</p>"}, "one of them"),
    ],
)
def test_a_broken_mjml_layout_is_refused_at_save_time(parts: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidTemplate) as refused:
        data = {"name": "t", "subject": "Hi", **parts}
        templates.compile_source(templates.check(data))
    assert any(reason in p["reason"] for p in refused.value.problems), refused.value.problems


def test_a_save_never_fetches_a_stylesheet_the_template_links() -> None:
    fetched: list[str] = []

    class Styles(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"p { color: red }")

        def log_message(self, *args: Any) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Styles) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        link = f'<link rel="stylesheet" href="http://127.0.0.1:{server.server_port}/s.css">'
        source = templates.check(_template(html=f"<html><head>{link}</head><p>Hi</p></html>"))
        compiled = templates.compile_source(source)
        server.shutdown()
    assert fetched == [] and link in compiled["html"]  # the reader's client may load it
