"""Applicants' personal data never reaches Temporal in plain text.

Every payload the desk hands to Temporal (workflow input, activity arguments and
results, Update and Signal arguments, query answers, failure messages, summaries) goes
through `EncryptionCodec`: the payload, serialised whole, is sealed with AES-GCM and
travels as `binary/encrypted`. Temporal's history, its UI and the dev server's state file
hold only ciphertext; the worker, every client, the replayer and the audit tools decode
with the same keys, and Temporal's own UI and CLI decode through the HTTP codec endpoint
(reschedule_desk/codec_server.py).

Keys, one line or comma-separated `id:base64-key` each, the first being the one that
encrypts (the others only decrypt, so histories written before a rotation stay readable):
- RESCHEDULE_PAYLOAD_KEYS in the environment, e.g. "k2:<base64>,k1:<base64>", or
- RESCHEDULE_PAYLOAD_KEY_FILE, a file with the same entries, one a line, or
- on a laptop with neither set, `var/payload-keys`, generated on first start.

Rotating: generate a key (`python -m reschedule_desk.codec new-key k2`), put it first and
keep the old ones after it for as long as histories encrypted with them are kept.

History is what Temporal stores for every open request, so a sealed payload is kept
small. Its data is a short header (the format, the key id, the number of the dictionary
its plain bytes were compressed against, 0 for none), then the nonce, the ciphertext and
AES-GCM's tag; the header is authenticated. Compression is raw deflate against a preset
dictionary of what the desk's payloads share (reschedule_desk/payload_dictionary.py),
used when it makes the payload smaller. Compressed, a payload's length depends on its
content; to learn anything from that, someone would have to both write text into a
request and read the sizes Temporal stores, a risk taken for a third of what it stores.

Older payloads still open: those labelled with the key id (and a zlib marker) in their
metadata, sealed before the header; and those without the encryption encoding at all,
the histories recorded before encryption (tests/histories/).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import sys
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from reschedule_desk import payload_dictionary

if TYPE_CHECKING:
    from reschedule_desk.settings import Settings

ENCODING = b"binary/encrypted"
# The header's first byte: the format of every payload this desk seals now.
HEADED = 2
NOT_COMPRESSED = 0
# Sealed before the header: key id and compression marker in the metadata.
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
    """AES-GCM over each whole payload (metadata included), compressed first when that
    helps; the key id in an authenticated header."""

    def __init__(self, keys: PayloadKeys) -> None:
        self._keys = keys

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key = self._keys.current
        plain = payload.SerializeToString()
        dictionary_number, body = payload_dictionary.CURRENT, _compress(plain, payload_dictionary.CURRENT)
        if len(body) >= len(plain):
            dictionary_number, body = NOT_COMPRESSED, plain
        key_id = key.key_id.encode()
        header = bytes([HEADED, len(key_id)]) + key_id + bytes([dictionary_number])
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key.secret).encrypt(nonce, body, header)
        return Payload(metadata={"encoding": ENCODING}, data=header + nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption, or by a tool without it: as it is
        if KEY_ID_METADATA in payload.metadata:
            return self._decrypt_labelled(payload)
        data = payload.data
        # format, key id length, key id, dictionary number | nonce | ciphertext and tag
        header_length = 3 + data[1] if len(data) > 1 else 0
        if not header_length or data[0] != HEADED or len(data) < header_length + NONCE_BYTES:
            raise PayloadKeyError("an encrypted payload's header is malformed: it was altered or cut short")
        header, nonce = data[:header_length], data[header_length : header_length + NONCE_BYTES]
        key_id, dictionary_number = header[2:-1].decode("utf-8", "replace"), header[-1]
        body = _open(self._keys.get(key_id), nonce, data[header_length + NONCE_BYTES :], header)
        if dictionary_number != NOT_COMPRESSED:
            body = _decompress(body, dictionary_number)
        return Payload.FromString(body)

    def _decrypt_labelled(self, payload: Payload) -> Payload:
        """A payload sealed before the header: key id and zlib marker in its metadata."""
        key_id = payload.metadata[KEY_ID_METADATA].decode("utf-8", "replace")
        marker = payload.metadata.get(COMPRESSION_METADATA)
        # The marker was authenticated with the key id; payloads sealed before
        # compression had the key id alone.
        associated = key_id.encode() if marker is None else key_id.encode() + b"\0" + marker
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        plain = _open(self._keys.get(key_id), nonce, sealed, associated)
        if marker == ZLIB:
            plain = zlib.decompress(plain)
        return Payload.FromString(plain)


def _open(key: PayloadKey, nonce: bytes, sealed: bytes, associated: bytes) -> bytes:
    try:
        return AESGCM(key.secret).decrypt(nonce, sealed, associated)
    except InvalidTag:
        raise PayloadKeyError(
            f"a payload marked with key {key.key_id!r} does not open with that key: "
            "the key was changed under the same id, or the payload was altered"
        ) from None


# Raw deflate: AES-GCM's tag already guards the bytes, zlib's checksum would only add to them.
_RAW_DEFLATE = -15


@cache
def _primed_compressor(dictionary_number: int) -> zlib._Compress:
    """A compressor that has read the dictionary. Reading it costs more than compressing
    most payloads, so each payload starts from a copy of this one."""
    return zlib.compressobj(
        zlib.Z_DEFAULT_COMPRESSION,
        zlib.DEFLATED,
        _RAW_DEFLATE,
        zdict=payload_dictionary.dictionary(dictionary_number),
    )


def _compress(plain: bytes, dictionary_number: int) -> bytes:
    compressor = _primed_compressor(dictionary_number).copy()
    return compressor.compress(plain) + compressor.flush()


def _decompress(body: bytes, dictionary_number: int) -> bytes:
    try:
        dictionary = payload_dictionary.dictionary(dictionary_number)
    except payload_dictionary.UnknownDictionary as unknown:
        raise PayloadKeyError(str(unknown)) from None
    decompressor = zlib.decompressobj(_RAW_DEFLATE, zdict=dictionary)
    return decompressor.decompress(body) + decompressor.flush()


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
