"""The welcome's "Try it": curl commands with the demo's own keys, URLs and customers, each under a
line that says what it shows."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from rich.console import Console
from rich.text import Text

from nerve.demo.cart_flow import PublishedFlow
from nerve.demo.journeys import NEWSLETTER
from nerve.demo.people import Customer
from nerve.demo.workspace import DemoWorkspace
from nerve.identity.extract import normalize_phone


def show(
    console: Console,
    workspace: DemoWorkspace,
    base_url: str,
    customers: list[Customer],
    flow: PublishedFlow,
) -> None:
    customer = customers[0] if customers else None
    admin = f"curl -H 'Authorization: Bearer {workspace.admin_key}'"
    event = '{"anonymousId": "curl-visitor", "event": "Product Viewed", '
    event += '"properties": {"product_id": "RUN-001", "price": 139.95, "currency": "EUR"}}'
    examples = [
        (["Send an event as the website:"], [
            f"curl -u '{workspace.write_keys['web']}:' {base_url}/v1/track \\",
            "  -H 'Content-Type: application/json' \\",
            f"  -d '{event}'",
        ]),
        (["List the latest orders from every head:"], [
            f"{admin} \\",
            f"  '{base_url}/api/v1/events?event=Order+Completed&limit=5'",
        ]),
    ]  # fmt: skip
    if customer is not None:
        profiles = f"{base_url}/api/v1/profiles"
        # ":" and "@" may stay as they are in a query (RFC 3986 §3.4); "+" and the like may not.
        query = urlencode({"identifier": f"email:{customer.email}"}, safe=":@", quote_via=quote)
        examples += [
            ([f"Look up {customer.name} by e-mail, one profile for all their devices and heads",
              "(a 404 until they first show up):"], [
                f"{admin} \\",
                f"  '{profiles}?{query}'",
            ]),
            (["Their timeline across heads, and the merge log that explains the profile:"], [
                'PROFILE=prf_…  # the "id" in the answer above',
                f'{admin} "{profiles}/$PROFILE/timeline"',
                f'{admin} "{profiles}/$PROFILE/merges"',
            ]),
            (["Everything held about them (GDPR export), then erase them everywhere — runs",
              "that wait stop, and their further events are dropped until they sign up again:"], [
                f'{admin} "{profiles}/$PROFILE/export"',
                f'{admin} -X DELETE "{profiles}/$PROFILE"',
            ]),
        ]  # fmt: skip
    runs = f"{base_url}/api/v1/flows/{flow.name}/runs"
    examples += [
        (["The latest runs of the abandoned-cart flow (status, outcome \"goal\" = ordered):"], [
            f"{admin} \\",
            f"  '{runs}?limit=5'",
        ]),
        (["One run, step by step (each reminder sent is an \"action\" step):"], [
            'RUN=run_…  # an "id" from the answer above',
            f'{admin} "{base_url}/api/v1/runs/$RUN"',
        ]),
        (["The message log: every mail sent, and every reminder skipped with the reason:"], [
            f"{admin} \\",
            f"  '{base_url}/api/v1/messages?limit=5'",
        ]),
        (["The reminders a customer clicked (opened_at, clicked_at); the click is on",
          "their timeline too, as \"Email Clicked\" after \"Email Sent\" and \"Email Opened\":"], [
            f"{admin} \\",
            f"  '{base_url}/api/v1/messages?status=clicked&limit=5'",
            'PROFILE=prf_…  # the "profile_id" of a message above',
            f'{admin} "{base_url}/api/v1/profiles/$PROFILE/timeline?limit=1000"',
        ]),
    ]  # fmt: skip
    examples += [
        (["The SMS sent (segments, the provider's sid) and skipped, with the reason; the",
          "messages the fatigue cap holds back now (counted, limit, window); the policy:"], [
            f"{admin} \\",
            f"  '{base_url}/api/v1/messages?channel=sms&limit=5'",
            f"{admin} \\",
            f"  '{base_url}/api/v1/messages?status=deferred&limit=5'",
            f"{admin} {base_url}/api/v1/delivery-policy",
        ]),
    ]  # fmt: skip
    regular = next((c for c in customers if c.regular), None)
    if regular is not None:
        query = urlencode({"phone": normalize_phone(regular.phone, "DE") or regular.phone})
        examples += [
            ([f"{regular.name}'s SMS opt-in, with its proof, once ticked at the checkout:"], [
                f"{admin} \\",
                f"  '{base_url}/api/v1/consent?{query}'",
            ]),
        ]  # fmt: skip
    subscriber = next((c for c in customers if c.signs_up), None)
    if subscriber is not None:
        query = urlencode({"email": subscriber.email}, safe="@", quote_via=quote)
        examples += [
            ([f"{subscriber.name}'s consent to the {NEWSLETTER}, with its proof (text, IP,",
              "browser, sign-up, confirmation and withdrawal times), and the topics the",
              "preference page in every reminder offers:"], [
                f"{admin} \\",
                f"  '{base_url}/api/v1/consent?{query}'",
                f"{admin} {base_url}/api/v1/consent/topics",
            ]),
        ]  # fmt: skip
    console.print("Try it", style="bold")
    for title, lines in examples:
        for words in title:
            console.print(f"  {words}", style="dim")
        for line in lines:
            console.print(Text(f"  {line}", style="green"), soft_wrap=True)
    console.print()
