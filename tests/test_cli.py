"""`reschedule` for scripts, and officer decisions from Temporal's own CLI."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import subprocess
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from reschedule_desk import cli
from reschedule_desk.settings import Settings
from reschedule_desk.temporal import bundled_binary
from reschedule_desk.console.access import Role
from tests.conftest import CodecEndpoint, filed_request, running_worker, settings_for, staff_token


@pytest.mark.parametrize(
    ("post", "start", "count", "expected"),
    [
        ("nairobi", "2026-11-21", 5, "2026-11-30"),  # Saturday; US Thanksgiving on the 26th
        ("nairobi", "2027-01-09", 5, "2027-01-15"),  # Saturday: the following Friday
        ("nairobi", "2027-02-01", 5, "2027-02-08"),  # Monday: the next Monday
        ("nairobi", "2027-01-11", 5, "2027-01-19"),  # Monday, but Martin Luther King Jr. Day is the 18th
        ("phnom-penh", "2026-11-20", 5, "2026-12-03"),  # Water Festival 23-25, Thanksgiving 26
        ("nairobi", "2026-11-23", 0, "2026-11-23"),
    ],
)
def test_calendar_add_business_days_prints_the_nth_business_day_after_the_date(
    capsys: pytest.CaptureFixture[str], post: str, start: str, count: int, expected: str
) -> None:
    assert cli.main(["calendar", "add-business-days", "--post", post, "--from", start, str(count)]) == 0
    assert capsys.readouterr().out.strip() == expected


def test_calendar_for_an_unknown_post_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["calendar", "add-business-days", "--post", "atlantis", "--from", "2026-11-23", "5"]) == 2
    assert "unknown post 'atlantis'" in capsys.readouterr().err


def test_a_tls_setting_the_desk_cannot_use_is_a_usage_error_naming_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TEMPORAL_TLS_CERT", str(tmp_path / "client.pem"))
    assert cli.main(["calendar", "add-business-days", "--post", "nairobi", "--from", "2026-11-23", "5"]) == 2
    assert capsys.readouterr().err.strip() == (
        "reschedule: TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY: mutual TLS needs both"
    )


async def _cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in a thread (it runs its own event loop), pointed at the test server."""
    monkeypatch.setattr(cli.Settings, "from_env", classmethod(lambda cls, environ=None: settings))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = await asyncio.to_thread(cli.main, list(argv))
    return code, out.getvalue(), err.getvalue()


async def _wait_for(settings: Settings, monkeypatch: pytest.MonkeyPatch, case_number: str, state: str) -> dict:
    for _ in range(200):
        code, out, _ = await _cli(settings, monkeypatch, "status", case_number)
        if code == 0 and json.loads(out)["status"] == state:
            return json.loads(out)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case_number} never became {state}")


def _request_file(settings: Settings, tmp_path: Path, **changes) -> tuple[Path, str]:
    """A request in the API's shape for a case filed in `settings`' database, written where
    `reschedule submit` reads it."""
    document = {**filed_request(settings.database_url), **changes}
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(document), encoding="utf-8")
    return request_file, document["case_number"]


async def test_submit_status_and_decide_from_the_cli(
    dev_env: WorkflowEnvironment, desk_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = settings_for(dev_env, desk_settings)
    staff_token(settings.database_url, "officer.kim", Role.OFFICER, ["nairobi"])
    request_file, case_number = _request_file(settings, tmp_path)
    async with running_worker(dev_env.client, settings):
        code, out, _ = await _cli(settings, monkeypatch, "submit", str(request_file))
        assert code == 0 and json.loads(out)["status"] == "SUBMITTED"
        assert len(json.loads(out)["applicant_secret"]) >= 40
        await _wait_for(settings, monkeypatch, case_number, "PENDING_REVIEW")

        code, _, err = await _cli(settings, monkeypatch, "provide-info", case_number, "--answer", "Early.")
        assert code == 1 and "not INFO_REQUESTED" in err

        code, out, _ = await _cli(
            settings, monkeypatch, "deny", case_number, "--officer", "officer.kim", "--reason", "Case transferred."
        )
        assert code == 0 and json.loads(out)["status"] == "DENIED"


@pytest.mark.parametrize(
    ("officer", "reason"),
    [
        ("anyone.at.all", "anyone.at.all is not an enabled account of the desk"),
        ("officer.gone", "officer.gone is not an enabled account of the desk"),
        ("auditor.lee", "an auditor may not decide requests"),
        ("officer.sok", "nairobi is not one of your posts"),
    ],
)
async def test_the_cli_decides_only_for_an_enabled_account_of_the_right_role_and_post(
    dev_env: WorkflowEnvironment,
    desk_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    officer: str,
    reason: str,
) -> None:
    settings = settings_for(dev_env, desk_settings)
    staff_token(settings.database_url, "auditor.lee", Role.AUDITOR, [])
    staff_token(settings.database_url, "officer.sok", Role.OFFICER, ["phnom-penh"])
    staff_token(settings.database_url, "officer.gone", Role.OFFICER, ["nairobi"])
    await _cli(settings, monkeypatch, "users", "disable", "officer.gone")
    request_file, case_number = _request_file(settings, tmp_path)
    async with running_worker(dev_env.client, settings):
        assert (await _cli(settings, monkeypatch, "submit", str(request_file)))[0] == 0
        await _wait_for(settings, monkeypatch, case_number, "PENDING_REVIEW")
        code, _, err = await _cli(settings, monkeypatch, "approve", case_number, "--officer", officer)
        assert code == 1 and err.strip() == f"reschedule: {reason}"
        status = await _wait_for(settings, monkeypatch, case_number, "PENDING_REVIEW")
        assert [step["action"] for step in status["history"]] == ["screen"]


async def test_a_bad_request_file_is_refused_with_the_field_named(
    desk_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    request_file, _ = _request_file(desk_settings, tmp_path, reason_category="lost_my_letter")
    code, _, err = await _cli(desk_settings, monkeypatch, "submit", str(request_file))
    assert code == 2 and "reason_category" in err


async def test_a_request_file_stating_what_the_post_holds_is_refused_naming_it(
    desk_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    request_file, _ = _request_file(desk_settings, tmp_path, interviewed_already=False)
    code, _, err = await _cli(desk_settings, monkeypatch, "submit", str(request_file))
    assert code == 2 and "interviewed_already: the post's case file holds this" in err


async def test_an_officer_can_approve_with_temporals_own_cli(
    dev_env: WorkflowEnvironment,
    desk_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    codec_endpoint: CodecEndpoint,
) -> None:
    settings = settings_for(dev_env, desk_settings)
    request_file, case_number = _request_file(settings, tmp_path)
    async with running_worker(dev_env.client, settings):
        assert (await _cli(settings, monkeypatch, "submit", str(request_file)))[0] == 0
        await _wait_for(settings, monkeypatch, case_number, "PENDING_REVIEW")

        def temporal_update(payload: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [
                    bundled_binary("temporal"), "workflow", "update", "execute",
                    "--address", settings.temporal_address,
                    *codec_endpoint.cli_options(),  # payloads are encrypted: the CLI decodes through the desk
                    "--workflow-id", f"reschedule-{case_number}",
                    "--name", "approve",
                    "--input", payload,
                ],
                capture_output=True, text=True, timeout=60,
            )

        refused = await asyncio.to_thread(temporal_update, '{"officer": "officer.kim"}')
        assert refused.returncode != 0
        approved = await asyncio.to_thread(
            temporal_update, '{"officer_id": "officer.kim", "note": "Approved from the Temporal CLI"}'
        )
        assert approved.returncode == 0, approved.stderr
        assert "status:APPROVED" in approved.stdout
        status = await _wait_for(settings, monkeypatch, case_number, "APPROVED")
        assert status["history"][-1]["actor"] == "officer.kim"
