"""A click in a cart reminder as the demo's customers make it: the mail's links read as a mail
program sees them, and the visit the click begins — which orders the reminded cart and is
attributed to the click on the screen."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from nerve.demo.carts import CartLine, ShopCart
from nerve.demo.catalog import product
from nerve.demo.mail_links import nerve_links, open_pixel, preferences_link
from nerve.demo.mail_visits import MailClick, MailClicks
from nerve.demo.mailbox import ReceivedMail
from nerve.demo.people import make_customers

BASE = "http://127.0.0.1:8000"


def _mail(html: str) -> ReceivedMail:
    return ReceivedMail(
        number=3, received_at=datetime.now(UTC), recipients=["anna@example.com"], raw=b"",
        subject="Your cart", sender="shop", to="anna@example.com", kind="marketing",
        html=html, text=None, headers=[],
    )  # fmt: skip


def test_a_mail_program_finds_the_tracked_links_with_their_words_and_the_pixel() -> None:
    mail = _mail(
        f'<a href="{BASE}/l/A1">Merino Crew Socks <b>2-Pack</b></a>'
        f"<a class='button' href='{BASE}/l/B2' style='color: red'>Back to your cart</a>"
        f'<a href="https://elsewhere.example/">elsewhere</a>'
        f'<a href="{BASE}/p/P3">Your mail preferences</a>'
        f'<img src="https://cdn.example/logo.png"><img src="{BASE}/o/O4" width="1">'
    )
    tracked = nerve_links(mail, BASE, "l")
    assert [(link.url, link.words) for link in tracked] == [
        (f"{BASE}/l/A1", "Merino Crew Socks 2-Pack"),
        (f"{BASE}/l/B2", "Back to your cart"),
    ]
    assert preferences_link(mail, BASE) == f"{BASE}/p/P3"
    assert open_pixel(mail, BASE) == f"{BASE}/o/O4"
    assert open_pixel(_mail("<p>no images</p>"), BASE) is None


def test_the_visit_a_click_begins_lands_on_the_product_and_orders_the_cart() -> None:
    customer = make_customers(1, seed=7)[0]
    shoe = product("RUN-001")
    customer.cart = ShopCart("user_id:u1", "cart-1", "tok", [CartLine(shoe, 1)], status="open")
    landing = f"{shoe.url}?utm_source=nerve&utm_medium=email&utm_campaign=demo_abandoned_cart"
    clicks = MailClicks()
    click = MailClick(customer, shoe, landing, "the cart reminder (mail 3)", on_phone=False)

    calls = list(clicks.visit(click, random.Random(1)))

    landed = calls[0]
    assert landed.type == "page" and landed.fields["properties"]["url"] == landing
    assert landed.fields["properties"]["referrer"] == ""  # a mail program sends none
    assert [c.fields["op"] for c in calls if c.type == "cart"] == ["read"]  # the cart page
    order = next(c for c in calls if c.fields.get("event") == "Order Completed")
    assert order.fields["properties"]["cart_id"] == "cart-1"  # the reminded cart: the flow's goal
    shopify = next(c for c in calls if c.type == "shop_order")  # and Shopify takes the order
    assert shopify.fields["order"]["order_id"] == order.fields["properties"]["order_id"]
    assert customer.cart is None
    assert clicks.figures().back == 1 and clicks.figures().ordered == 1
    [note] = clicks.notes()
    assert f"{customer.name} ordered €" in note.plain and "“Velocity 3”" in note.plain


def test_a_click_after_the_cart_was_ordered_elsewhere_only_looks() -> None:
    customer = make_customers(1, seed=7)[0]
    shoe = product("RUN-001")
    clicks = MailClicks()
    click = MailClick(customer, shoe, shoe.url, "the cart reminder (mail 3)", on_phone=True)

    calls = list(clicks.visit(click, random.Random(1)))

    assert [c.fields.get("event") or c.fields.get("name") for c in calls] == [
        "Product Detail",
        "Product Viewed",
    ]
    assert clicks.figures().ordered == 0 and not clicks.notes()


def test_the_cart_button_restores_the_cart_in_the_browser_that_opens_it() -> None:
    customer = make_customers(1, seed=7)[0]
    shoe = product("RUN-001")
    resume = f"{BASE}/r/TOKEN"
    clicks = MailClicks()
    click = MailClick(customer, None, resume, "the cart reminder (mail 3)", on_phone=True)
    visit = clicks.visit(click, random.Random(1))

    first = next(visit)  # the browser follows the resume link, the head reads the cart
    assert first.type == "cart" and first.fields["op"] == "resume"
    assert first.fields["url"] == resume
    first.fields["cart"].take({"id": "cart_9", "token": "tok9", "status": "open", "lines": [
        {"sku": shoe.sku, "quantity": 2, "flags": []}]})  # fmt: skip
    calls = list(visit)

    assert first.device.head == "web"  # the browser the mail program opened
    order = next(c for c in calls if c.fields.get("event") == "Order Completed")
    assert order.fields["properties"]["cart_id"] == "cart_9"
    assert order.fields["properties"]["products"][0]["quantity"] == 2
    assert first.fields["cart"].status == "ordered" and customer.cart is None
    [note] = clicks.notes()
    assert "“Back to your cart”" in note.plain
