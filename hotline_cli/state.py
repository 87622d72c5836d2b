"""Where `hotline up` keeps its state, and the secrets it generates once.

Layer: edge (filesystem). No secret has a default in code: each is generated
with `secrets.token_urlsafe` the first time it is needed and kept mode 0600.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    path = Path(base) / "hotline"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to a file only its owner can read (0600), also when it existed
    with a wider mode: the mode is set before the secret is written, never after."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def load_or_create_secret(name: str, directory: Path | None = None) -> str:
    """Return the secret stored as `name` in the state folder, creating it once."""
    folder = directory or state_dir()
    path = folder / name
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = secrets.token_urlsafe(18)
    write_private(path, value + "\n")
    return value
