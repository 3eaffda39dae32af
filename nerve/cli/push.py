"""`nerve push vapid`: the workspace's VAPID key pair for Web Push."""

from __future__ import annotations

from typing import Annotated

import typer

from nerve.auth.roles import Permission
from nerve.cli.output import DEFAULT_WORKSPACE, JsonFlag, WorkspaceOption, console, echo_json
from nerve.cli.session import authorized
from nerve.secrets import service as secrets

app = typer.Typer(help="Push set-up: the VAPID key pair of Web Push.", no_args_is_help=True)


@app.command("vapid")
def vapid_key(
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Make a new key pair even though there is one: every browser subscribed "
            "with the old public key stops getting pushes until it subscribes again.",
        ),
    ] = False,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    as_json: JsonFlag = False,
) -> None:
    """Make the workspace's VAPID key pair (once; the private key is kept as the secret
    push.vapid_private_key) and print the public key browsers subscribe with."""
    from nerve.channels.push import vapid

    with (
        authorized(Permission.SECRETS_MANAGE, workspace, as_json) as (services, principal),
        services.write() as conn,
    ):
        private = secrets.reveal(conn, services.vault, principal.workspace_id, vapid.SECRET)
        made = private is None or replace
        if made:
            private = vapid.generate()
            secrets.put(conn, services.vault, principal.workspace_id, vapid.SECRET, private,
                        actor=principal.key_id)  # fmt: skip
        assert private is not None
        public = vapid.public_key(private)
    if as_json:
        echo_json({"public_key": public, "created": made})
        return
    console.print(public, soft_wrap=True, highlight=False)
    said = "A new key pair" if made else "The key pair as it was (--replace makes a new one)"
    console.print(f"{said}. Heads read the public key from GET /v1/push/vapid-public-key.")
