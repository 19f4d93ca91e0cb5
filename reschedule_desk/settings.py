"""Settings from the environment, with embedded defaults for a laptop.

Production points TEMPORAL_ADDRESS at a cluster, DATABASE_URL at PostgreSQL and SMTP_URL
at a relay; unset, everything lives under `var/` in the checkout.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from reschedule_desk.domain.posts import PostsConfig, parse_posts

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTS_FILE = Path(__file__).resolve().parent / "posts.toml"
TEMPLATES_DIR = PROJECT_ROOT / "templates"


@dataclass(frozen=True)
class Settings:
    temporal_address: str
    temporal_namespace: str
    database_url: str
    smtp_url: str | None
    posts_file: Path
    var_dir: Path
    task_queue: str = "reschedule-desk"
    # Payload encryption keys (reschedule_desk/codec.py): "id:base64,..." from the
    # environment, else a key file; neither: var/payload-keys. Never in a repr or a log.
    payload_keys: str | None = field(default=None, repr=False)
    payload_key_file: Path | None = None
    # Signs the console's session cookies (RESCHEDULE_SECRET_KEY). Never in a repr or a log.
    secret_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        var_dir = Path(environ.get("RESCHEDULE_VAR_DIR", PROJECT_ROOT / "var"))
        return cls(
            temporal_address=environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
            temporal_namespace=environ.get("TEMPORAL_NAMESPACE", "default"),
            database_url=environ.get("DATABASE_URL", f"sqlite:///{var_dir / 'desk.sqlite3'}"),
            smtp_url=environ.get("SMTP_URL") or None,
            posts_file=Path(environ.get("RESCHEDULE_POSTS", DEFAULT_POSTS_FILE)),
            var_dir=var_dir,
            task_queue=environ.get("RESCHEDULE_TASK_QUEUE", "reschedule-desk"),
            payload_keys=environ.get("RESCHEDULE_PAYLOAD_KEYS") or None,
            payload_key_file=Path(environ["RESCHEDULE_PAYLOAD_KEY_FILE"])
            if environ.get("RESCHEDULE_PAYLOAD_KEY_FILE")
            else None,
            secret_key=environ.get("RESCHEDULE_SECRET_KEY") or None,
        )

    @property
    def mail_dir(self) -> Path:
        """The local mail sink: one .eml file per email, when SMTP_URL is unset."""
        return self.var_dir / "mail"

    def session_secret(self) -> str:
        """RESCHEDULE_SECRET_KEY, or a random key made once and kept in var/secret_key
        (readable by its owner only), so sessions survive a restart of `make run`."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made before, or by another process just now
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            key = secrets.token_urlsafe(48)
            file.write(key)
        return key

    @cached_property
    def posts(self) -> PostsConfig:
        return parse_posts(self.posts_file.read_text(encoding="utf-8"), source=str(self.posts_file))
