"""The payload codec: AES-GCM per payload, key id in an authenticated header, keys rotated
without losing old histories, and key material never in an error, a repr or a log."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zlib
import threading
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from reschedule_desk import payload_dictionary
from reschedule_desk.codec import (
    COMPRESSION_METADATA,
    ENCODING,
    HEADED,
    KEY_ID_METADATA,
    NOT_COMPRESSED,
    EncryptionCodec,
    PayloadKey,
    PayloadKeyError,
    PayloadKeys,
    load_payload_keys,
    main,
)
from reschedule_desk.settings import Settings
from reschedule_desk.temporal import data_converter_with
from tests.test_examples import EXAMPLE_REQUESTS, SAMPLE_CASES

DICTIONARY_1_SHA256 = "d45d5651af43211c493f71867dd4fd6fb835910fec80c0e30edf777ed6816bfb"
CANARY = b'{"full_name": "Sokha Canary", "date_of_birth": "1979-11-23"}'


def plain_payload(data: bytes = CANARY) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def key(key_id: str) -> PayloadKey:
    return PayloadKey.generate(key_id)


def key_id_of(sealed: Payload) -> bytes:
    """The key id in a sealed payload's header: format byte, length, id."""
    return sealed.data[2 : 2 + sealed.data[1]]


def dictionary_of(sealed: Payload) -> int:
    return sealed.data[2 + sealed.data[1]]


async def test_a_payload_is_sealed_with_the_current_key_and_opens_again() -> None:
    codec = EncryptionCodec(PayloadKeys([key("k1")]))
    (sealed,) = await codec.encode([plain_payload()])
    assert dict(sealed.metadata) == {"encoding": ENCODING}
    assert key_id_of(sealed) == b"k1"
    assert b"Canary" not in sealed.SerializeToString() and b"1979" not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [plain_payload()]


async def test_the_same_payload_seals_differently_each_time() -> None:
    codec = EncryptionCodec(PayloadKeys([key("k1")]))
    first, second = await codec.encode([plain_payload(), plain_payload()])
    assert first.data != second.data


async def test_rotation_encrypts_with_the_new_key_and_still_opens_the_old_histories() -> None:
    old, new = key("k1"), key("k2")
    (written_before,) = await EncryptionCodec(PayloadKeys([old])).encode([plain_payload()])

    rotated = EncryptionCodec(PayloadKeys([new, old]))
    assert await rotated.decode([written_before]) == [plain_payload()]
    (written_after,) = await rotated.encode([plain_payload()])
    assert key_id_of(written_after) == b"k2"

    with pytest.raises(PayloadKeyError, match="key 'k1', which is not among the desk's keys"):
        await EncryptionCodec(PayloadKeys([new])).decode([written_before])


async def test_payloads_written_before_encryption_pass_through_unchanged() -> None:
    codec = EncryptionCodec(PayloadKeys([key("k1")]))
    assert await codec.decode([plain_payload()]) == [plain_payload()]


async def test_a_payload_that_compresses_is_sealed_compressed_and_opens_whole() -> None:
    codec = EncryptionCodec(PayloadKeys([key("k1")]))
    long_payload = plain_payload(CANARY * 40)
    (sealed,) = await codec.encode([long_payload])
    assert dictionary_of(sealed) == payload_dictionary.CURRENT
    assert len(sealed.data) < len(long_payload.SerializeToString()) / 4
    assert await codec.decode([sealed]) == [long_payload]


async def test_what_every_payload_shares_costs_little_thanks_to_the_dictionary() -> None:
    codec = EncryptionCodec(PayloadKeys([key("k1")]))
    transition = plain_payload(
        b'{"step":2,"at":"2026-11-23T09:00:00Z","from_state":"PENDING_REVIEW","to_state":"APPROVED",'
        b'"actor":"officer.mwangi","action":"approve","note":null,"rule":null}'
    )
    (sealed,) = await codec.encode([transition])
    without_dictionary = len(zlib.compress(transition.SerializeToString()))
    assert len(sealed.data) < without_dictionary / 2
    assert await codec.decode([sealed]) == [transition]


async def test_a_payload_that_does_not_compress_is_sealed_as_it_is() -> None:
    codec = EncryptionCodec(PayloadKeys([key("k1")]))
    random_bytes = plain_payload(os.urandom(200))
    (sealed,) = await codec.encode([random_bytes])
    assert dictionary_of(sealed) == NOT_COMPRESSED
    assert await codec.decode([sealed]) == [random_bytes]


def test_the_dictionaries_of_histories_already_written_never_change() -> None:
    # Every payload compressed against dictionary 1 needs these exact bytes to open.
    assert hashlib.sha256(payload_dictionary.dictionary(1)).hexdigest() == DICTIONARY_1_SHA256


def test_the_dictionary_holds_placeholders_not_the_examples_applicants() -> None:
    # Every dictionary there is: the frozen ones and the one payloads are compressed against now.
    built = b"".join(payload_dictionary.dictionary(number) for number in range(1, payload_dictionary.CURRENT + 1))
    for example in EXAMPLE_REQUESTS:
        request = json.loads(example.read_text(encoding="utf-8"))
        personal = [request["reason"], request["contact_email"]]
        personal += [applicant["full_name"] for applicant in request["applicants"]]
        for value in personal:
            assert value.encode() not in built, f"{value!r} of {example.name} is in the dictionary"
    # Nor the sample case files' people, whom screening's facts carry (CaseFileFacts).
    for case in SAMPLE_CASES.values():
        for value in [case.petitioner_id, *(applicant.full_name for applicant in case.applicants)]:
            assert value.encode() not in built, f"{value!r} of case {case.case_number} is in the dictionary"


async def test_the_dictionary_a_payload_names_cannot_be_altered() -> None:
    codec = EncryptionCodec(PayloadKeys([key("k1")]))
    (sealed,) = await codec.encode([plain_payload(CANARY * 40)])
    position = 2 + sealed.data[1]
    altered = Payload(
        metadata=sealed.metadata, data=sealed.data[:position] + bytes([NOT_COMPRESSED]) + sealed.data[position + 1 :]
    )
    with pytest.raises(PayloadKeyError, match="does not open"):
        await codec.decode([altered])


async def test_a_payload_compressed_against_a_dictionary_this_desk_lacks_names_it() -> None:
    # As a desk with a newer dictionary would seal it.
    k1 = key("k1")
    header = bytes([HEADED, 2]) + b"k1" + bytes([99])
    nonce = os.urandom(12)
    newer = Payload(
        metadata={"encoding": ENCODING}, data=header + nonce + AESGCM(k1.secret).encrypt(nonce, b"...", header)
    )
    with pytest.raises(PayloadKeyError, match="dictionary 99, which this desk does not have"):
        await EncryptionCodec(PayloadKeys([k1])).decode([newer])


async def test_a_cut_short_payload_is_refused_clearly() -> None:
    codec = EncryptionCodec(PayloadKeys([key("k1")]))
    (sealed,) = await codec.encode([plain_payload()])
    cut = Payload(metadata=sealed.metadata, data=sealed.data[:5])
    with pytest.raises(PayloadKeyError, match="header is malformed"):
        await codec.decode([cut])


async def test_payloads_sealed_before_compression_still_open() -> None:
    k1 = key("k1")
    nonce = os.urandom(12)
    sealed_before = Payload(
        metadata={"encoding": ENCODING, KEY_ID_METADATA: b"k1"},
        data=nonce + AESGCM(k1.secret).encrypt(nonce, plain_payload().SerializeToString(), b"k1"),
    )
    assert await EncryptionCodec(PayloadKeys([k1])).decode([sealed_before]) == [plain_payload()]


def labelled_and_zlib_compressed(k1: PayloadKey, payload: Payload) -> Payload:
    """How payloads were sealed before the header: key id and zlib marker in the metadata."""
    nonce = os.urandom(12)
    compressed = zlib.compress(payload.SerializeToString())
    return Payload(
        metadata={"encoding": ENCODING, KEY_ID_METADATA: b"k1", COMPRESSION_METADATA: b"zlib"},
        data=nonce + AESGCM(k1.secret).encrypt(nonce, compressed, b"k1\0zlib"),
    )


async def test_payloads_sealed_with_the_key_id_in_their_metadata_still_open() -> None:
    k1 = key("k1")
    sealed_before = labelled_and_zlib_compressed(k1, plain_payload(CANARY * 40))
    assert await EncryptionCodec(PayloadKeys([k1])).decode([sealed_before]) == [plain_payload(CANARY * 40)]


async def test_a_stripped_compression_marker_is_refused() -> None:
    k1 = key("k1")
    stripped = labelled_and_zlib_compressed(k1, plain_payload(CANARY * 40))
    del stripped.metadata[COMPRESSION_METADATA]
    with pytest.raises(PayloadKeyError, match="does not open"):
        await EncryptionCodec(PayloadKeys([k1])).decode([stripped])


async def test_an_altered_payload_or_a_key_changed_under_its_id_is_refused() -> None:
    codec = EncryptionCodec(PayloadKeys([key("k1")]))
    (sealed,) = await codec.encode([plain_payload()])
    altered = Payload()
    altered.CopyFrom(sealed)
    altered.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(PayloadKeyError, match="does not open"):
        await codec.decode([altered])
    with pytest.raises(PayloadKeyError, match="does not open"):
        await EncryptionCodec(PayloadKeys([key("k1")])).decode([sealed])


async def test_failure_messages_are_encrypted_too() -> None:
    converter = data_converter_with(PayloadKeys([key("k1")]))
    failure = Failure()
    await converter.encode_failure(ValueError("could not store Sokha Canary, born 1979-11-23"), failure)
    assert b"Canary" not in failure.SerializeToString()
    assert "Canary" in str(await converter.decode_failure(failure))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no payload key in it"),
        ("k1", "a payload key is written id:base64-key"),
        ("k1:not base64!", "'k1' is not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "is 5 bytes; AES-GCM needs 16, 24 or 32"),
        (f"bad id:{base64.b64encode(bytes(32)).decode()}", "must be letters, digits"),
        (f"k1:{base64.b64encode(bytes(32)).decode()},k1:{base64.b64encode(bytes(16)).decode()}", "given twice"),
    ],
)
def test_malformed_keys_are_refused_naming_the_source_and_never_the_key(text: str, message: str) -> None:
    with pytest.raises(PayloadKeyError, match=message) as refusal:
        PayloadKeys.parse(text, source="RESCHEDULE_PAYLOAD_KEYS")
    assert "RESCHEDULE_PAYLOAD_KEYS" in str(refusal.value)
    secret = text.partition(":")[2].split(",")[0]
    assert not secret or secret not in str(refusal.value)


def test_a_key_file_names_the_line_of_a_bad_entry(tmp_path: Path) -> None:
    good = key("k2").entry()
    key_file = tmp_path / "keys"
    key_file.write_text(f"# rotated in November\n{good}\nk1:???\n", encoding="utf-8")
    settings = Settings.from_env({"RESCHEDULE_PAYLOAD_KEY_FILE": str(key_file)})
    with pytest.raises(PayloadKeyError, match=rf"{key_file}, line 3: payload key 'k1' is not valid base64"):
        load_payload_keys(settings)


def test_keys_come_from_the_environment_first_then_the_key_file(tmp_path: Path) -> None:
    from_env, from_file = key("env-key"), key("file-key")
    key_file = tmp_path / "keys"
    key_file.write_text(from_file.entry(), encoding="utf-8")
    both = {"RESCHEDULE_PAYLOAD_KEYS": from_env.entry(), "RESCHEDULE_PAYLOAD_KEY_FILE": str(key_file)}
    assert load_payload_keys(Settings.from_env(both)).key_ids == ["env-key"]
    assert load_payload_keys(Settings.from_env({"RESCHEDULE_PAYLOAD_KEY_FILE": str(key_file)})).key_ids == [
        "file-key"
    ]
    with pytest.raises(PayloadKeyError, match="RESCHEDULE_PAYLOAD_KEY_FILE .*missing"):
        load_payload_keys(Settings.from_env({"RESCHEDULE_PAYLOAD_KEY_FILE": str(tmp_path / "missing")}))


def test_a_laptop_with_no_keys_set_gets_one_key_file_in_var_readable_by_its_owner_only(tmp_path: Path) -> None:
    settings = Settings.from_env({"RESCHEDULE_VAR_DIR": str(tmp_path / "var")})
    found: list[list[str]] = []
    threads = [threading.Thread(target=lambda: found.append(load_payload_keys(settings).key_ids)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({tuple(ids) for ids in found}) == 1, "every part of the desk gets the same key"
    key_file = tmp_path / "var" / "payload-keys"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert [path.name for path in key_file.parent.iterdir()] == ["payload-keys"], "no temporary file left"
    assert load_payload_keys(settings).key_ids == found[0], "the next start reads it again"


def test_key_material_never_shows_in_a_repr() -> None:
    secret_key = key("k1")
    entry = secret_key.entry()
    settings = Settings.from_env({"RESCHEDULE_PAYLOAD_KEYS": entry})
    secret = entry.partition(":")[2]
    for shown in (repr(settings), repr(secret_key), repr(PayloadKeys([secret_key]))):
        assert secret not in shown and repr(secret_key.secret) not in shown


def test_a_new_key_for_rotation_is_printed_as_an_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new-key", "k3"]) == 0
    printed = capsys.readouterr().out.strip()
    assert PayloadKeys.parse(printed, source="printed").key_ids == ["k3"]
    assert main(["new-key", "bad id"]) == 2


def test_keys_of_each_aes_size_work() -> None:
    for size in (16, 24, 32):
        PayloadKey("k", os.urandom(size))
