"""The key the demo encrypts its secrets with (the SMS account's token, the FCM access token, the
Slack destination's URL): NERVE_SECRET_KEY when it is set, else a key of the demo's own, kept in
a file beside the demo database so that the secrets stored in one run can be read in the next.

The file is made on the first run, readable by its owner only, and never written again; nothing
else is written anywhere (a real shop's `.env` stays as it is).
"""

from __future__ import annotations

import os
from pathlib import Path

from nerve.errors import DemoError
from nerve.secrets.vault import new_key

KEY_FILE = "nerve-demo.key"


def demo_key(configured: str, directory: Path) -> tuple[str, Path | None]:
    """The key to use and the file it is kept in (None: NERVE_SECRET_KEY's)."""
    if configured.strip():
        return configured, None
    path = directory / KEY_FILE
    try:
        return _read(path), path
    except FileNotFoundError:
        pass
    key = new_key()
    try:
        # O_EXCL: two demos started at once in one directory keep the first one's key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path), path
    except OSError as exc:
        raise DemoError(f"cannot keep the demo's secret key in {path}: {exc.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key + "\n")
    return key, path


def _read(path: Path) -> str:
    try:
        key = path.read_text(encoding="ascii").strip()
    except (UnicodeDecodeError, PermissionError) as exc:
        raise DemoError(f"cannot read the demo's secret key in {path}: {exc}") from None
    if not key:
        raise DemoError(f"{path} is empty: delete it, and the demo makes a new key")
    return key
