"""Applicants' personal data never reaches Temporal in plain text.

Every payload the desk hands to Temporal (workflow input, activity arguments and
results, Update and Signal arguments, query answers, failure messages) goes through
`EncryptionCodec`: the payload, serialised whole, is sealed with AES-GCM and travels as
`binary/encrypted` with the id of its key in the metadata. Temporal's history, its UI
and the dev server's state file hold only ciphertext; the worker, every client, the
replayer and the audit tools decode with the same keys, and Temporal's own UI and CLI
decode through the HTTP codec endpoint (reschedule_desk/codec_server.py).

Keys, one line or comma-separated `id:base64-key` each, the first being the one that
encrypts (the others only decrypt, so histories written before a rotation stay readable):
- RESCHEDULE_PAYLOAD_KEYS in the environment, e.g. "k2:<base64>,k1:<base64>", or
- RESCHEDULE_PAYLOAD_KEY_FILE, a file with the same entries, one a line, or
- on a laptop with neither set, `var/payload-keys`, generated on first start.

Rotating: generate a key (`python -m reschedule_desk.codec new-key k2`), put it first and
keep the old ones after it for as long as histories encrypted with them are kept.

A payload is compressed (zlib) before it is sealed when that makes it smaller: history
is what Temporal stores for every open request, and the desk's JSON shrinks to about half.
The marker is authenticated with the key id. Compressed, a payload's length depends on its
content; to learn anything from that, someone would have to both write text into a request
and read the sizes Temporal stores, a risk taken for halving what it stores.

Payloads without the encryption metadata pass through decoding unchanged: the histories
recorded before encryption (tests/histories/) still replay; so do those sealed before
compression, which carry no compression marker.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import sys
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

if TYPE_CHECKING:
    from reschedule_desk.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
COMPRESSION_METADATA = "encryption-compression"
ZLIB = b"zlib"
NONCE_BYTES = 12  # AES-GCM's standard nonce; random per payload
KEY_BYTES = (16, 24, 32)  # AES-128, -192, -256; generated keys are 256-bit
GENERATED_KEY_FILE = "payload-keys"

# Key ids travel in every payload's metadata and in error messages: plain names only.
_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class PayloadKeyError(ValueError):
    """The keys are missing, malformed, or do not open a payload. The message names the
    source and the key id, never key material."""


@dataclass(frozen=True)
class PayloadKey:
    key_id: str
    secret: bytes = field(repr=False)  # never in a repr, a log line or an error

    def __post_init__(self) -> None:
        if not _KEY_ID.match(self.key_id):
            raise PayloadKeyError(f"payload key id {self.key_id!r} must be letters, digits, '.', '_' or '-'")
        if len(self.secret) not in KEY_BYTES:
            raise PayloadKeyError(
                f"payload key {self.key_id} is {len(self.secret)} bytes; AES-GCM needs 16, 24 or 32"
            )

    @classmethod
    def generate(cls, key_id: str) -> PayloadKey:
        return cls(key_id, AESGCM.generate_key(bit_length=256))

    def entry(self) -> str:
        """The `id:base64` line a key file or RESCHEDULE_PAYLOAD_KEYS holds."""
        return f"{self.key_id}:{base64.b64encode(self.secret).decode('ascii')}"


class PayloadKeys:
    """The desk's keys: the first encrypts, all of them decrypt."""

    def __init__(self, keys: Iterable[PayloadKey]) -> None:
        self._keys: dict[str, PayloadKey] = {}
        for key in keys:
            if key.key_id in self._keys:
                raise PayloadKeyError(f"payload key id {key.key_id} is given twice")
            self._keys[key.key_id] = key
        if not self._keys:
            raise PayloadKeyError("no payload key given")

    def __repr__(self) -> str:
        return f"PayloadKeys({', '.join(self._keys)})"

    @classmethod
    def parse(cls, text: str, source: str) -> PayloadKeys:
        """`id:base64` entries separated by commas or new lines; `#` starts a comment."""
        keys = []
        for number, line in enumerate(text.splitlines(), start=1):
            for entry in line.split("#", 1)[0].split(","):
                entry = entry.strip()
                if not entry:
                    continue
                key_id, colon, encoded = entry.partition(":")
                where = f"{source}, line {number}" if "\n" in text.strip() else source
                if not colon:
                    raise PayloadKeyError(f"{where}: a payload key is written id:base64-key")
                try:
                    secret = base64.b64decode(encoded.strip(), validate=True)
                except (binascii.Error, ValueError):
                    raise PayloadKeyError(f"{where}: payload key {key_id.strip()!r} is not valid base64") from None
                try:
                    keys.append(PayloadKey(key_id.strip(), secret))
                except PayloadKeyError as error:
                    raise PayloadKeyError(f"{where}: {error}") from None
        if not keys:
            raise PayloadKeyError(f"{source}: no payload key in it")
        try:
            return cls(keys)
        except PayloadKeyError as error:
            raise PayloadKeyError(f"{source}: {error}") from None

    @property
    def current(self) -> PayloadKey:
        return next(iter(self._keys.values()))

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def get(self, key_id: str) -> PayloadKey:
        try:
            return self._keys[key_id]
        except KeyError:
            raise PayloadKeyError(
                f"payload encrypted with key {key_id!r}, which is not among the desk's keys "
                f"({', '.join(self._keys)}); keep retired keys after the current one"
            ) from None


class EncryptionCodec(PayloadCodec):
    """AES-GCM over each whole payload (metadata included), key id in the metadata."""

    def __init__(self, keys: PayloadKeys) -> None:
        self._keys = keys

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key = self._keys.current
        metadata = {"encoding": ENCODING, KEY_ID_METADATA: key.key_id.encode()}
        plain = payload.SerializeToString()
        compressed = zlib.compress(plain)
        if len(compressed) < len(plain):
            plain, metadata[COMPRESSION_METADATA] = compressed, ZLIB
        nonce = os.urandom(NONCE_BYTES)
        # The key id and the compression marker are authenticated too: a payload cannot be
        # relabelled to another key, nor have its marker stripped.
        sealed = AESGCM(key.secret).encrypt(nonce, plain, _associated_data(key.key_id, metadata))
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption, or by a tool without it: as it is
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
        key = self._keys.get(key_id)
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = AESGCM(key.secret).decrypt(nonce, sealed, _associated_data(key_id, payload.metadata))
        except InvalidTag:
            raise PayloadKeyError(
                f"a payload marked with key {key_id!r} does not open with that key: "
                "the key was changed under the same id, or the payload was altered"
            ) from None
        if payload.metadata.get(COMPRESSION_METADATA) == ZLIB:
            plain = zlib.decompress(plain)
        return Payload.FromString(plain)


def _associated_data(key_id: str, metadata: Mapping[str, bytes]) -> bytes:
    """What AES-GCM authenticates beside the payload: the key id, and the compression
    marker when there is one (payloads sealed before compression had the key id alone)."""
    marker = metadata.get(COMPRESSION_METADATA)
    return key_id.encode() if marker is None else key_id.encode() + b"\0" + marker


def load_payload_keys(settings: Settings) -> PayloadKeys:
    """The keys the settings name: the environment's, the key file's, or on a laptop
    with neither, var/payload-keys (generated the first time)."""
    if settings.payload_keys:
        return PayloadKeys.parse(settings.payload_keys, source="RESCHEDULE_PAYLOAD_KEYS")
    if settings.payload_key_file is not None:
        path = settings.payload_key_file
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise PayloadKeyError(f"RESCHEDULE_PAYLOAD_KEY_FILE {path}: {error.strerror}") from None
        return PayloadKeys.parse(text, source=str(path))
    return PayloadKeys.parse(_local_key_file(settings.var_dir).read_text(encoding="utf-8"), source="var key file")


def _local_key_file(var_dir: Path) -> Path:
    """var/payload-keys, created once with one new key, readable by its owner only.
    Two processes starting together (worker and API) both end up with the one file."""
    path = var_dir / GENERATED_KEY_FILE
    if path.exists():
        return path
    var_dir.mkdir(parents=True, exist_ok=True)
    key = PayloadKey.generate(f"local-{secrets.token_hex(4)}")
    temporary = var_dir / f".{GENERATED_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(
            "# Payload encryption keys of this checkout's desk (generated on first start).\n"
            "# Losing this file makes the requests in var/temporal.db unreadable.\n"
            f"{key.entry()}\n"
        )
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)  # fails if another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    return path


def main(argv: list[str] | None = None) -> int:
    """`python -m reschedule_desk.codec new-key ID`: print a new key entry for rotation."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "new-key":
        print("usage: python -m reschedule_desk.codec new-key ID", file=sys.stderr)
        return 2
    try:
        print(PayloadKey.generate(args[1]).entry())
    except PayloadKeyError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
