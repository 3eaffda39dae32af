"""`nerve email domain DOMAIN`: a DKIM key for a sending domain, and the DNS records to publish."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, echo_json
from nerve.cli.session import authorized
from nerve.secrets import service as secrets

app = typer.Typer(help="Email set-up: sending domains.", no_args_is_help=True)


@app.command("domain")
def domain(
    name: Annotated[str, typer.Argument(help="The domain of NERVE_EMAIL_FROM, shop.example")],
    selector: Annotated[str, typer.Option(help="The DKIM selector of a new key")] = "nerve",
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Make the domain's DKIM signing key (once; kept as the secret dkim.DOMAIN) and print the
    SPF, DKIM and DMARC records to publish in its DNS."""
    from nerve.channels import dkim_keys
    from nerve.channels.smtp import parse_url

    with (
        authorized(Permission.SECRETS_MANAGE, workspace, as_json) as (services, principal),
        services.write() as conn,
    ):
        secret = dkim_keys.secret_name(name)
        value = secrets.reveal(conn, services.vault, principal.workspace_id, secret)
        if value is None:
            key = dkim_keys.generate(name, selector)
            secrets.put(conn, services.vault, principal.workspace_id, secret,
                        dkim_keys.stored(key), actor=principal.key_id)  # fmt: skip
        else:
            data = json.loads(value)
            key = dkim_keys.SigningKey(name.lower(), data["selector"], data["private_key"].encode())
        url = services.settings.smtp_url.get_secret_value()
        records = dkim_keys.records(key, parse_url(url).host if url else None)
    if as_json:
        echo_json({"domain": key.domain, "selector": key.selector, "records": records})
        return
    table = Table("name", "type", "value", box=None, pad_edge=False, highlight=False)
    for record, text in records.items():
        table.add_row(record, "TXT", text)
    console.print(table)
    console.print(
        "Mail from this domain is signed from now on. Start DMARC at p=none, read the reports, "
        "then tighten it to p=quarantine."
    )
