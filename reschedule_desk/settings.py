"""Settings from the environment, with embedded defaults for a laptop.

Production points TEMPORAL_ADDRESS at a cluster (over TLS: TEMPORAL_TLS_*, TEMPORAL_API_KEY),
DATABASE_URL at PostgreSQL and SMTP_URL at a relay; unset, everything lives under `var/` in
the checkout.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from reschedule_desk.domain.posts import PostsConfig, parse_posts

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTS_FILE = Path(__file__).resolve().parent / "posts.toml"
TEMPLATES_DIR = PROJECT_ROOT / "templates"


class SettingsError(ValueError):
    """A setting the desk cannot use. The message names the environment variable and
    never quotes a file's contents or a secret."""


@dataclass(frozen=True)
class TemporalTLS:
    """TLS towards Temporal, read from the files the settings name (PEM bytes); what
    temporal.connect() hands the client as its TLSConfig."""

    client_cert: bytes | None = None
    client_private_key: bytes | None = field(default=None, repr=False)
    server_root_ca_cert: bytes | None = None  # None: the system's roots
    domain: str | None = None  # SNI and the name the server's certificate must carry


@dataclass(frozen=True)
class Settings:
    temporal_address: str
    temporal_namespace: str
    database_url: str
    smtp_url: str | None
    posts_file: Path
    var_dir: Path
    task_queue: str = "reschedule-desk"
    # Where applicants reach the desk's pages (RESCHEDULE_PUBLIC_URL): emails link there.
    public_url: str = "http://127.0.0.1:8000"
    # Payload encryption keys (reschedule_desk/codec.py): "id:base64,..." from the
    # environment, else a key file; neither: var/payload-keys. Never in a repr or a log.
    payload_keys: str | None = field(default=None, repr=False)
    payload_key_file: Path | None = None
    # Signs the console's session cookies (RESCHEDULE_SECRET_KEY). Never in a repr or a log.
    secret_key: str | None = field(default=None, repr=False)
    # Temporal over TLS (a cluster, Temporal Cloud): a client certificate and its key for
    # mutual TLS, a CA bundle for the server's certificate (unset: the system's roots), an
    # SNI override and an API key. TLS is on when any of the certificate, key, CA or API key
    # is set, or when temporal_tls is (TEMPORAL_TLS=true: a server with a public certificate).
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_tls_server_name: str | None = None
    # TEMPORAL_API_KEY (Temporal Cloud). Never in a repr or a log.
    temporal_api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The settings, checked: a TLS setting the desk cannot use raises SettingsError
        here, before any part has started or changed anything."""
        var_dir = Path(environ.get("RESCHEDULE_VAR_DIR", PROJECT_ROOT / "var"))
        settings = cls(
            temporal_address=environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
            temporal_namespace=environ.get("TEMPORAL_NAMESPACE", "default"),
            database_url=environ.get("DATABASE_URL", f"sqlite:///{var_dir / 'desk.sqlite3'}"),
            smtp_url=environ.get("SMTP_URL") or None,
            posts_file=Path(environ.get("RESCHEDULE_POSTS", DEFAULT_POSTS_FILE)),
            var_dir=var_dir,
            task_queue=environ.get("RESCHEDULE_TASK_QUEUE", "reschedule-desk"),
            public_url=(environ.get("RESCHEDULE_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
            payload_keys=environ.get("RESCHEDULE_PAYLOAD_KEYS") or None,
            payload_key_file=Path(environ["RESCHEDULE_PAYLOAD_KEY_FILE"])
            if environ.get("RESCHEDULE_PAYLOAD_KEY_FILE")
            else None,
            secret_key=environ.get("RESCHEDULE_SECRET_KEY") or None,
            temporal_tls=_flag(environ, "TEMPORAL_TLS"),
            temporal_tls_cert=_path(environ, "TEMPORAL_TLS_CERT"),
            temporal_tls_key=_path(environ, "TEMPORAL_TLS_KEY"),
            temporal_tls_ca=_path(environ, "TEMPORAL_TLS_CA"),
            temporal_tls_server_name=environ.get("TEMPORAL_TLS_SERVER_NAME", "").strip() or None,
            temporal_api_key=environ.get("TEMPORAL_API_KEY", "").strip() or None,
        )
        if environ.get("TEMPORAL_TLS", "").strip() and not settings.temporal_tls and settings.uses_tls:
            raise SettingsError(
                "TEMPORAL_TLS is false, but TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA or "
                "TEMPORAL_API_KEY is set, and each of them needs TLS: unset one or the other"
            )
        settings.temporal_tls_files()
        return settings

    @property
    def uses_tls(self) -> bool:
        """Whether the desk talks to Temporal over TLS."""
        return self.temporal_tls or any(
            (self.temporal_tls_cert, self.temporal_tls_key, self.temporal_tls_ca, self.temporal_api_key)
        )

    def temporal_tls_files(self) -> TemporalTLS | None:
        """The TLS settings with their files read and checked (None: plain TCP). Raises
        SettingsError naming the variable: a certificate without its key or the reverse, a
        file missing or not PEM, a key that is not the certificate's."""
        if not self.uses_tls:
            if self.temporal_tls_server_name:
                raise SettingsError(
                    "TEMPORAL_TLS_SERVER_NAME is set but TLS is off: set TEMPORAL_TLS=true "
                    "(or TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY)"
                )
            return None
        if self.temporal_tls_cert and not self.temporal_tls_key:
            raise SettingsError("TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY: mutual TLS needs both")
        if self.temporal_tls_key and not self.temporal_tls_cert:
            raise SettingsError("TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT: mutual TLS needs both")
        client_cert = client_key = None
        if self.temporal_tls_cert and self.temporal_tls_key:
            client_cert, certificates = _read_certificates("TEMPORAL_TLS_CERT", self.temporal_tls_cert)
            client_key, private_key = _read_private_key("TEMPORAL_TLS_KEY", self.temporal_tls_key)
            if _public_der(certificates[0].public_key()) != _public_der(private_key.public_key()):
                raise SettingsError(
                    f"TEMPORAL_TLS_KEY: {self.temporal_tls_key} is not the private key of the "
                    f"certificate in TEMPORAL_TLS_CERT ({self.temporal_tls_cert})"
                )
        server_ca = None
        if self.temporal_tls_ca:
            server_ca, _ = _read_certificates("TEMPORAL_TLS_CA", self.temporal_tls_ca)
        return TemporalTLS(
            client_cert=client_cert,
            client_private_key=client_key,
            server_root_ca_cert=server_ca,
            domain=self.temporal_tls_server_name,
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


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false")


def _path(environ: Mapping[str, str], name: str) -> Path | None:
    value = environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def _read(variable: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SettingsError(f"{variable}: {path} does not exist") from None
    except IsADirectoryError:
        raise SettingsError(f"{variable}: {path} is a directory, not a PEM file") from None
    except OSError as error:
        raise SettingsError(f"{variable}: cannot read {path} ({error.strerror})") from None


def _read_certificates(variable: str, path: Path) -> tuple[bytes, list[x509.Certificate]]:
    """A PEM file of one or more certificates (a chain, a CA bundle), and them parsed."""
    data = _read(variable, path)
    try:
        return data, x509.load_pem_x509_certificates(data)
    except ValueError:
        what = "holds a private key, not" if b"PRIVATE KEY-----" in data else "is not"
        raise SettingsError(
            f"{variable}: {path} {what} a PEM certificate (-----BEGIN CERTIFICATE-----)"
        ) from None


def _read_private_key(variable: str, path: Path) -> tuple[bytes, PrivateKeyTypes]:
    """A PEM private key, unencrypted, and it parsed. Errors never quote the file."""
    data = _read(variable, path)
    try:
        return data, serialization.load_pem_private_key(data, password=None)
    except TypeError:  # it wants a password
        raise SettingsError(
            f"{variable}: {path} is an encrypted private key; the desk needs it unencrypted"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        what = "holds a certificate, not" if b"-----BEGIN CERTIFICATE-----" in data else "is not"
        raise SettingsError(
            f"{variable}: {path} {what} a PEM private key (-----BEGIN PRIVATE KEY-----)"
        ) from None


def _public_der(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
