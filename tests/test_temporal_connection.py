"""The desk's Temporal connection over TLS, for real: a throwaway CA, server and client
certificates, and a TLS-terminating relay on loopback in front of the dev server (which
itself speaks plain gRPC). The desk connects through the relay with its settings; without
a client certificate, or trusting only the system's roots, the handshake fails. Settings
that cannot work are refused naming the variable, never quoting a file or a key."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from reschedule_desk.settings import Settings, SettingsError
from reschedule_desk.temporal import connect, ensure_search_attributes
from tests.conftest import TEST_PAYLOAD_KEYS

# Certificates ----------------------------------------------------------------------------


@dataclass
class Pki:
    """PEM files in a test's folder: a CA, the relay's certificate (127.0.0.1, localhost)
    signed by it, a client certificate signed by it, and one signed by another CA."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path


def _issue(
    folder: Path,
    name: str,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    usage: x509.ObjectIdentifier | None = None,
    san: list[x509.GeneralName] | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A certificate (a CA when issuer is None) and its key, written as name.pem, name.key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_cert, issuer_key = issuer or (None, key)
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    certificate = builder.sign(issuer_key, hashes.SHA256())
    (folder / f"{name}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certificate, key


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca = _issue(tmp_path, "ca", None)
    loopback = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    _issue(tmp_path, "server", ca, usage=ExtendedKeyUsageOID.SERVER_AUTH, san=loopback)
    _issue(tmp_path, "client", ca, usage=ExtendedKeyUsageOID.CLIENT_AUTH, san=[x509.DNSName("desk-worker")])
    stranger_ca = _issue(tmp_path, "stranger-ca", None)
    _issue(tmp_path, "stranger", stranger_ca, usage=ExtendedKeyUsageOID.CLIENT_AUTH, san=[x509.DNSName("stranger")])
    return Pki(
        ca=tmp_path / "ca.pem",
        server_cert=tmp_path / "server.pem",
        server_key=tmp_path / "server.key",
        client_cert=tmp_path / "client.pem",
        client_key=tmp_path / "client.key",
        stranger_cert=tmp_path / "stranger.pem",
        stranger_key=tmp_path / "stranger.key",
    )


# The relay -------------------------------------------------------------------------------


@dataclass
class Relay:
    address: str
    refused: list[str] = field(default_factory=list)  # the handshakes it failed, and why
    relayed: int = 0  # connections it passed on to the dev server


@asynccontextmanager
async def tls_relay(pki: Pki, upstream: str, *, client_cert_required: bool) -> AsyncIterator[Relay]:
    """TLS on 127.0.0.1 in front of the dev server's plain gRPC port, as a cluster's
    frontend (or a proxy before it) terminates TLS. gRPC is HTTP/2, so the relay offers
    ALPN "h2"; with client_cert_required, a client must show a certificate of the test CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.set_alpn_protocols(["h2"])
    if client_cert_required:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=pki.ca)
    upstream_host, upstream_port = upstream.rsplit(":", 1)
    connections: set[asyncio.Task] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        connections.add(asyncio.current_task())
        try:
            # The handshake here rather than in start_server, to see and record a refusal.
            await client_writer.start_tls(context, ssl_handshake_timeout=5)
        except (ssl.SSLError, ConnectionError, TimeoutError) as error:
            state.refused.append(str(error))
            client_writer.close()
            return
        except asyncio.CancelledError:  # the relay closed before the handshake ended
            client_writer.close()
            return
        state.relayed += 1
        upstream_reader, upstream_writer = await asyncio.open_connection(upstream_host, int(upstream_port))
        try:
            await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))
        except asyncio.CancelledError:  # the relay closed: drop both ends
            client_writer.close()
            upstream_writer.close()

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    state = Relay(address=f"127.0.0.1:{server.sockets[0].getsockname()[1]}")
    try:
        yield state
    finally:
        server.close()
        for task in connections:  # the clients keep their connections open: end them
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)


def tls_settings(tmp_path: Path, address: str, **environ: str | Path) -> Settings:
    """The desk's settings from an environment: the relay as TEMPORAL_ADDRESS, plus TLS."""
    return Settings.from_env(
        {
            "TEMPORAL_ADDRESS": address,
            "RESCHEDULE_VAR_DIR": str(tmp_path),
            "RESCHEDULE_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS,
            **{name: str(value) for name, value in environ.items()},
        }
    )


def dev_address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


# Connecting through TLS ------------------------------------------------------------------


@pytest.mark.parametrize("server_name", [None, "localhost"], ids=["by-address", "server-name"])
async def test_mutual_tls_round_trip(dev_env: WorkflowEnvironment, pki: Pki, tmp_path: Path, server_name) -> None:
    """With its certificate, key and the CA, the desk's client goes through the relay: it
    registers search attributes as the worker does, starts a workflow with an encrypted
    argument, and reads it back."""
    async with tls_relay(pki, dev_address(dev_env), client_cert_required=True) as relay:
        environ = {"TEMPORAL_TLS_CERT": pki.client_cert, "TEMPORAL_TLS_KEY": pki.client_key, "TEMPORAL_TLS_CA": pki.ca}
        if server_name:
            environ["TEMPORAL_TLS_SERVER_NAME"] = server_name
        settings = tls_settings(tmp_path, relay.address, **environ)
        client = await connect(settings)
        await ensure_search_attributes(client)
        handle = await client.start_workflow(
            "TlsProbe",
            {"probe": "through the relay"},
            id=f"tls-probe-{uuid.uuid4().hex}",
            task_queue=f"tls-probe-{uuid.uuid4().hex[:8]}",  # no worker polls it: it stays running
        )
        try:
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            started = [event async for event in handle.fetch_history_events()][0]
            payload = started.workflow_execution_started_event_attributes.input.payloads[0]
            assert payload.metadata["encoding"] == b"binary/encrypted"
            [argument] = await client.data_converter.decode([payload])
            assert argument == {"probe": "through the relay"}
        finally:
            await handle.terminate("probe done")
        assert relay.relayed >= 1 and relay.refused == []


async def test_api_key_over_tls(dev_env: WorkflowEnvironment, pki: Pki, tmp_path: Path) -> None:
    """An API key alone (Temporal Cloud's other way in) turns TLS on; the key stays out of
    the settings' repr. The dev server ignores the key: this proves the TLS path it takes."""
    async with tls_relay(pki, dev_address(dev_env), client_cert_required=False) as relay:
        settings = tls_settings(tmp_path, relay.address, TEMPORAL_API_KEY="sekrit-api-key", TEMPORAL_TLS_CA=pki.ca)
        assert settings.uses_tls and "sekrit-api-key" not in repr(settings)
        client = await connect(settings)
        assert client.api_key == "sekrit-api-key"
        assert await client.count_workflows("WorkflowType = 'NoSuchType'") is not None
        assert relay.relayed >= 1


@pytest.mark.parametrize("who", ["no client certificate", "a stranger's certificate"])
async def test_relay_refuses_a_client_without_the_cas_certificate(
    dev_env: WorkflowEnvironment, pki: Pki, tmp_path: Path, who: str
) -> None:
    async with tls_relay(pki, dev_address(dev_env), client_cert_required=True) as relay:
        environ = {"TEMPORAL_TLS_CA": pki.ca}
        if who == "a stranger's certificate":
            environ |= {"TEMPORAL_TLS_CERT": pki.stranger_cert, "TEMPORAL_TLS_KEY": pki.stranger_key}
        settings = tls_settings(tmp_path, relay.address, **environ)
        with pytest.raises(RuntimeError, match="Failed client connect") as failed:
            await connect(settings)
        # The client's own words vary with the moment the relay hangs up; the desk adds
        # which TLS settings the connection used.
        used = "TLS with the client certificate in TEMPORAL_TLS_CERT" if environ.get("TEMPORAL_TLS_CERT") else (
            "TLS without a client certificate (TEMPORAL_TLS_CERT unset)"
        )
        assert used in str(failed.value) and f"checked against TEMPORAL_TLS_CA ({pki.ca})" in str(failed.value)
        refusal = "PEER_DID_NOT_RETURN_A_CERTIFICATE" if who == "no client certificate" else "CERTIFICATE_VERIFY_FAILED"
        assert relay.refused and all(refusal in reason for reason in relay.refused)
        assert relay.relayed == 0


async def test_the_system_roots_do_not_trust_a_private_ca(dev_env: WorkflowEnvironment, pki: Pki, tmp_path: Path) -> None:
    """TEMPORAL_TLS=true without TEMPORAL_TLS_CA verifies the server against the system's
    roots, which do not know the test CA: the client refuses the relay's certificate."""
    async with tls_relay(pki, dev_address(dev_env), client_cert_required=False) as relay:
        settings = tls_settings(tmp_path, relay.address, TEMPORAL_TLS="true")
        with pytest.raises(RuntimeError, match="Failed client connect") as failed:
            await connect(settings)
        assert "UnknownIssuer" in str(failed.value)
        assert "checked against the system's roots (TEMPORAL_TLS_CA unset)" in str(failed.value)
        assert relay.relayed == 0


# A server still starting ------------------------------------------------------------------
# The dev server answers "Frontend is not healthy yet" for a moment after its port opens;
# when it does is a race, so the answer is played by a stand-in for the first attempts,
# and the connection that follows is a real one.

STARTING = RuntimeError("Failed client connect: Server connection error: Frontend is not healthy yet")


def frontend_starting_for(attempts: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Client.connect answers "not healthy yet" `attempts` times, then connects for real."""
    tried: list[str] = []
    real_connect = Client.connect

    async def starting_then_real(address: str, **options) -> Client:
        tried.append(address)
        if len(tried) <= attempts:
            raise STARTING
        return await real_connect(address, **options)

    monkeypatch.setattr(Client, "connect", starting_then_real)
    return tried


async def test_a_frontend_still_starting_is_waited_for(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried = frontend_starting_for(3, monkeypatch)
    client = await connect(tls_settings(tmp_path, dev_address(dev_env)))
    assert len(tried) == 4
    assert await client.count_workflows("WorkflowType = 'NoSuchType'") is not None


async def test_a_frontend_that_never_becomes_healthy_is_given_up_on(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried = frontend_starting_for(10**6, monkeypatch)
    with pytest.raises(RuntimeError, match="Frontend is not healthy yet"):
        await connect(tls_settings(tmp_path, dev_address(dev_env)), frontend_starting_seconds=0.5)
    assert 1 < len(tried) < 10


async def test_any_other_connection_failure_is_raised_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tried = frontend_starting_for(0, monkeypatch)  # every attempt is real
    with socket.socket() as unused:  # bound, never listening: the connection is refused
        unused.bind(("127.0.0.1", 0))
        with pytest.raises(RuntimeError, match="Failed client connect"):
            await connect(tls_settings(tmp_path, f"127.0.0.1:{unused.getsockname()[1]}"))
    assert len(tried) == 1


# Settings that cannot work ---------------------------------------------------------------


def test_plain_tcp_by_default(tmp_path: Path) -> None:
    settings = tls_settings(tmp_path, "127.0.0.1:7233")
    assert not settings.uses_tls and settings.temporal_tls_files() is None


def refusal(tmp_path: Path, **environ: str | Path) -> str:
    with pytest.raises(SettingsError) as refused:
        tls_settings(tmp_path, "127.0.0.1:7233", **environ)
    return str(refused.value)


def test_a_certificate_needs_its_key_and_the_reverse(pki: Pki, tmp_path: Path) -> None:
    assert refusal(tmp_path, TEMPORAL_TLS_CERT=pki.client_cert).startswith(
        "TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY"
    )
    assert refusal(tmp_path, TEMPORAL_TLS_KEY=pki.client_key).startswith(
        "TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT"
    )


def test_missing_and_non_pem_files_are_named(pki: Pki, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    assert refusal(tmp_path, TEMPORAL_TLS_CA=missing) == f"TEMPORAL_TLS_CA: {missing} does not exist"
    assert refusal(tmp_path, TEMPORAL_TLS_CERT=missing, TEMPORAL_TLS_KEY=pki.client_key) == (
        f"TEMPORAL_TLS_CERT: {missing} does not exist"
    )
    assert refusal(tmp_path, TEMPORAL_TLS_CA=tmp_path) == f"TEMPORAL_TLS_CA: {tmp_path} is a directory, not a PEM file"

    der = tmp_path / "client.der"  # a certificate, but not PEM
    der.write_bytes(x509.load_pem_x509_certificate(pki.client_cert.read_bytes()).public_bytes(serialization.Encoding.DER))
    assert refusal(tmp_path, TEMPORAL_TLS_CERT=der, TEMPORAL_TLS_KEY=pki.client_key) == (
        f"TEMPORAL_TLS_CERT: {der} is not a PEM certificate (-----BEGIN CERTIFICATE-----)"
    )
    text = tmp_path / "notes.txt"
    text.write_text("not a key at all\n")
    assert refusal(tmp_path, TEMPORAL_TLS_CA=text) == (
        f"TEMPORAL_TLS_CA: {text} is not a PEM certificate (-----BEGIN CERTIFICATE-----)"
    )


def test_swapped_mismatched_or_encrypted_keys_are_named_without_their_contents(pki: Pki, tmp_path: Path) -> None:
    secret = pki.client_key.read_text()
    swapped = refusal(tmp_path, TEMPORAL_TLS_CERT=pki.client_key, TEMPORAL_TLS_KEY=pki.client_cert)
    assert swapped == f"TEMPORAL_TLS_CERT: {pki.client_key} holds a private key, not a PEM certificate (-----BEGIN CERTIFICATE-----)"
    mismatched = refusal(tmp_path, TEMPORAL_TLS_CERT=pki.client_cert, TEMPORAL_TLS_KEY=pki.stranger_key)
    assert mismatched.startswith(f"TEMPORAL_TLS_KEY: {pki.stranger_key} is not the private key of the certificate")

    key = serialization.load_pem_private_key(pki.client_key.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
        )
    )
    assert refusal(tmp_path, TEMPORAL_TLS_CERT=pki.client_cert, TEMPORAL_TLS_KEY=encrypted) == (
        f"TEMPORAL_TLS_KEY: {encrypted} is an encrypted private key; the desk needs it unencrypted"
    )
    for message in (swapped, mismatched):
        assert "PRIVATE KEY-----" not in message and secret.splitlines()[1] not in message


def test_contradictory_flags(pki: Pki, tmp_path: Path) -> None:
    assert refusal(tmp_path, TEMPORAL_TLS="maybe") == "TEMPORAL_TLS must be true or false"
    assert refusal(tmp_path, TEMPORAL_TLS="false", TEMPORAL_TLS_CA=pki.ca).startswith("TEMPORAL_TLS is false, but")
    assert refusal(tmp_path, TEMPORAL_TLS_SERVER_NAME="localhost").startswith(
        "TEMPORAL_TLS_SERVER_NAME is set but TLS is off"
    )
