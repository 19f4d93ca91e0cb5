"""The desk registers its own search attributes, so Temporal's tools can find requests by
status, post and next deadline, and no personal data is in them."""

from __future__ import annotations

import asyncio

from temporalio.testing import WorkflowEnvironment

from reschedule_desk.desk import Desk
from reschedule_desk.domain import search
from reschedule_desk.settings import Settings
from reschedule_desk.temporal import bundled_binary, ensure_search_attributes
from tests.conftest import TEST_DATA_CONVERTER, filed_reschedule_request, running_worker
from workflows.reschedule_request import IGNORED_SIGNALS_AUDITED, SCREENED_FROM_CASE_FILE

PATCHES = (IGNORED_SIGNALS_AUDITED, SCREENED_FROM_CASE_FILE)


async def test_the_desk_registers_its_search_attributes_and_indexes_requests_by_them(
    desk_settings: Settings,
) -> None:
    # A fresh dev server that knows nothing of the desk's attributes.
    async with await WorkflowEnvironment.start_local(
        data_converter=TEST_DATA_CONVERTER,
        dev_server_existing_path=bundled_binary("temporal"),
        dev_server_log_level="error",
    ) as env:
        await ensure_search_attributes(env.client)
        await ensure_search_attributes(env.client)  # a second worker starting: nothing to do

        request = filed_reschedule_request(desk_settings.database_url)  # screened eligible: it waits for review
        async with running_worker(env.client, desk_settings):
            await Desk(env.client, desk_settings).submit(request)
            query = 'RescheduleStatus = "PENDING_REVIEW" AND ReschedulePost = "nairobi"'
            for _ in range(100):  # visibility is eventually consistent
                found = [w async for w in env.client.list_workflows(query)]
                if found:
                    break
                await asyncio.sleep(0.1)
        (listed,) = found
        assert listed.id == request.workflow_id
        attributes = listed.typed_search_attributes
        assert attributes[search.REQUEST_STATUS] == "PENDING_REVIEW"
        assert attributes[search.NEXT_DEADLINE] is not None
        # Besides the desk's own, only Temporal's: the worker's build ids, and the patches
        # (workflow.patched) the run took, by id.
        assert {pair.key.name for pair in attributes} <= {key.name for key in search.ALL} | {
            "BuildIds", "TemporalChangeVersion"
        }
        change_versions = listed.search_attributes.get("TemporalChangeVersion", [])
        assert set(change_versions) <= set(PATCHES), change_versions
        shown = str(listed.search_attributes)
        assert all(value not in shown for value in (request.contact_email, request.principal.full_name))
