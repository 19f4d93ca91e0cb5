"""What the console's pages show: the queue, one request, the supervisor overview and
the accounts. The console's clock is Monday 23 November 2026, 09:00 in Nairobi."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.storage import repository, tokens
from reschedule_desk.storage.tables import ApiToken, OutboxMessage
from tests.console.conftest import NOW

# Closing time in Nairobi (16:30, UTC+3) on a day of that week.
def nairobi_closing(day: int) -> datetime:
    return datetime(2026, 11, day, 13, 30, tzinfo=UTC)


def cases_in_order(html: str) -> list[str]:
    return re.findall(r'<a href="/requests/([A-Z]{3}\d{10})">', html)


async def test_the_queue_shows_the_most_urgent_first_in_business_days(signed_in, store_request) -> None:
    later = store_request(window_ends_at=nairobi_closing(27))  # Thursday 26th is Thanksgiving
    tomorrow = store_request(window_ends_at=nairobi_closing(24))
    overdue = store_request(window_ends_at=datetime(2026, 11, 23, 5, 0, tzinfo=UTC))
    today = store_request(window_ends_at=nairobi_closing(23))
    in_two = store_request(window_ends_at=nairobi_closing(25))
    page = (await (await signed_in("officer.kim")).get("/")).text
    assert cases_in_order(page) == [overdue, today, tomorrow, in_two, later]
    words = re.findall(r'<span class="due[^"]*">([^<]+)</span>', page)
    assert words == ["overdue", "due today", "due in 1 business day", "due in 2 business days", "due in 3 business days"]


async def test_the_queue_holds_only_the_open_requests_of_my_posts(signed_in, store_request) -> None:
    mine = store_request("nairobi")
    theirs = store_request("phnom-penh")
    officer = (await (await signed_in("officer.kim")).get("/")).text
    assert cases_in_order(officer) == [mine]
    auditor = (await (await signed_in("auditor.lee")).get("/")).text
    assert set(cases_in_order(auditor)) == {mine, theirs}


async def test_another_posts_request_cannot_be_opened(signed_in, store_request) -> None:
    theirs = store_request("phnom-penh")
    response = await (await signed_in("officer.kim")).get(f"/requests/{theirs}")
    assert response.status_code == 403 and "phnom-penh is not one of your posts" in response.text


async def test_the_queue_filters_by_status_and_post_and_counts_each_status(signed_in, store_request) -> None:
    waiting = store_request("nairobi")
    asked = store_request("nairobi", state=RequestState.INFO_REQUESTED)
    elsewhere = store_request("phnom-penh")
    auditor = await signed_in("auditor.lee")
    everything = (await auditor.get("/")).text
    assert "pending review: <strong>2</strong>" in everything and "info requested: <strong>1</strong>" in everything
    assert cases_in_order((await auditor.get("/?status=INFO_REQUESTED")).text) == [asked]
    assert set(cases_in_order((await auditor.get("/?post=nairobi")).text)) == {waiting, asked}
    assert cases_in_order((await auditor.get("/?post=phnom-penh&status=PENDING_REVIEW")).text) == [elsewhere]


async def test_an_officer_cannot_filter_on_another_post(signed_in) -> None:
    response = await (await signed_in("officer.kim")).get("/?post=phnom-penh")
    assert response.status_code == 403


async def test_the_queue_pages_forward_and_back_through_every_request_once(signed_in, store_request) -> None:
    stored = [store_request(window_ends_at=nairobi_closing(24) + timedelta(minutes=i % 7)) for i in range(60)]
    page = await signed_in("officer.kim")
    seen, pages, html = [], [], (await page.get("/")).text
    while True:
        pages.append(cases_in_order(html))
        seen += pages[-1]
        following = re.search(r'<a href="([^"]+)" rel="next">', html)
        if not following:
            break
        html = (await page.get(following.group(1).replace("&amp;", "&"))).text
    assert [len(p) for p in pages] == [25, 25, 10]
    assert sorted(seen) == sorted(stored) and len(set(seen)) == 60
    back = re.search(r'<a href="([^"]+)" rel="prev">', html).group(1).replace("&amp;", "&")
    assert cases_in_order((await page.get(back)).text) == pages[1]


async def test_a_made_up_queue_position_is_a_plain_404(signed_in) -> None:
    response = await (await signed_in("officer.kim")).get("/?after=garbage")
    assert response.status_code == 404 and "start again from the first page" in response.text


async def test_the_request_page_shows_applicants_with_ages_and_the_rules_checked(signed_in, store_request) -> None:
    case = store_request(
        applicants=[
            {"full_name": "Wanjiru Kamau", "date_of_birth": "1990-06-21", "relationship": "principal", "marital_status": "married"},
            {"full_name": "Baraka Kamau", "date_of_birth": "2010-11-21", "relationship": "child", "marital_status": "single"},
        ]
    )
    html = (await (await signed_in("officer.kim")).get(f"/requests/{case}")).text
    assert re.search(r"Wanjiru Kamau</td>.*?data-label=\"Age\">36<", html, re.S)
    assert re.search(r"Baraka Kamau</td>.*?data-label=\"Age\">15<", html, re.S)  # 16 only on the day after submission
    assert "<strong>Passed</strong> <code>original_appointment_passed</code>: The appointment on 2 November 2026 has passed." in html
    assert "My medicals were on hold on the day of my appointment." in html
    assert "I failed to attend my original appointment" in html


async def test_the_request_page_explains_each_deadline_in_business_days(signed_in, store_request) -> None:
    case = store_request(submitted_at=datetime(2026, 11, 20, 7, 0, tzinfo=UTC))  # Friday, 10:00 in Nairobi
    html = (await (await signed_in("officer.kim")).get(f"/requests/{case}")).text
    assert "Approval email released no earlier than: Mon 30 Nov 2026, 08:00 EAT" in html
    assert "5 business days after Fri 20 Nov 2026, the day of submission" in html
    assert "Not counted: 4 weekend days; Thu 26 Nov 2026: Thanksgiving Day (US)." in html
    assert "Window ends (the request expires): Mon 7 Dec 2026, 16:30 EAT" in html
    assert "10 business days after Fri 20 Nov 2026, the day it became pending review" in html
    assert "2 business days before the window&#39;s last day" in html


async def test_the_request_page_shows_every_step_with_who_and_when(signed_in, store_request) -> None:
    case = store_request(assigned_to="officer.njeri", state=RequestState.INFO_REQUESTED)
    html = (await (await signed_in("officer.kim")).get(f"/requests/{case}")).text
    steps = re.findall(r"<li><time>([^<]+)</time> <strong>([^<]+)</strong> by ([\w.]+)", html)
    assert [(action, actor) for _, action, actor in steps] == [
        ("screen", "system"), ("claim", "officer.njeri"), ("request info", "officer.kim")
    ]
    assert steps[0][0] == "Fri 20 Nov 2026, 09:00 EAT"


async def test_the_request_page_shows_the_emails_as_the_applicant_saw_them(signed_in, store_request) -> None:
    case = store_request()
    page = await signed_in("officer.kim")
    html = (await page.get(f"/requests/{case}")).text
    assert f"Case {case}: we received your request" in html
    preview = re.search(r'<iframe sandbox title="[^"]*" src="([^"]+)">', html).group(1)
    email = await page.get(preview)
    assert email.text == '<p style="color: #1b1b1b">We received your request.</p>'
    assert "sandbox" in email.headers["content-security-policy"]
    assert email.headers["x-frame-options"] == "SAMEORIGIN"


async def test_an_email_of_another_request_is_not_shown(signed_in, store_request) -> None:
    first, second = store_request(), store_request()
    page = await signed_in("officer.kim")
    html = (await page.get(f"/requests/{first}")).text
    preview = re.search(r'src="(/requests/[^"]+/emails/[^"]+)"', html).group(1)
    assert (await page.get(preview.replace(first, second, 1))).status_code == 404


async def test_the_overview_counts_overdue_and_soon_due_per_officer(signed_in, store_request) -> None:
    store_request(window_ends_at=datetime(2026, 11, 23, 5, 0, tzinfo=UTC), assigned_to="officer.kim")  # overdue
    store_request(window_ends_at=nairobi_closing(24), assigned_to="officer.kim")  # due in 1
    store_request(window_ends_at=nairobi_closing(25))  # due in 2, nobody's
    store_request(window_ends_at=datetime(2026, 12, 18, 13, 30, tzinfo=UTC), assigned_to="officer.njeri")  # not soon
    store_request("phnom-penh", window_ends_at=nairobi_closing(24))  # not the supervisor's post
    html = (await (await signed_in("supervisor.otieno")).get("/overview")).text
    assert "<strong>1</strong> overdue, <strong>2</strong> due within 2 business days" in html
    rows = re.findall(
        r'data-label="Officer">([^<]+)</td><td data-label="Open">(\d+)</td>\s*<td data-label="Soon due">(\d+)</td><td data-label="Overdue"[^>]*>(\d+)<',
        html,
    )
    assert rows == [("officer.kim", "2", "1", "1"), ("officer.njeri", "1", "0", "0"), ("nobody yet", "1", "1", "0")]
    assert "Phnom Penh" not in html


async def test_officers_do_not_see_the_overview_and_admins_see_only_accounts(signed_in) -> None:
    assert (await (await signed_in("officer.kim")).get("/overview")).status_code == 403
    admin = await signed_in("admin.ana")
    assert (await admin.get("/")).headers["location"] == "/accounts"
    accounts = (await admin.get("/accounts")).text
    assert all(name in accounts for name in ("officer.kim", "supervisor.otieno", "auditor.lee"))
    assert (await admin.get("/overview")).status_code == 403


async def test_an_admin_adds_an_account_that_can_then_sign_in(signed_in, browser) -> None:
    admin = await signed_in("admin.ana")
    await admin.get("/accounts")
    added = await admin.submit(
        "/accounts", {"name": "officer.dara", "role": "officer", "posts": ["phnom-penh"], "password": "a long enough secret"}
    )
    assert added.status_code == 200 and "Account officer.dara added." in added.text
    dara = browser()
    assert (await dara.sign_in("officer.dara", "a long enough secret")).status_code == 303
    assert "officer.dara · officer · phnom-penh" in (await dara.get("/")).text


async def test_the_accounts_page_lists_each_accounts_tokens_and_revokes_one(signed_in, db) -> None:
    with db.begin() as session:
        token, _ = tokens.issue_staff_token(session, "officer.kim", NOW, label="laptop")
        tokens.add_intake_client(session, "scheduling-site", NOW)
    admin = await signed_in("admin.ana")
    page = (await admin.get("/accounts")).text
    assert re.search(r"officer\.kim</td>\s*<td data-label=\"Label\">laptop</td>", page)
    assert "2026-11-23 06:00 UTC" in page and "never" in page and "2027-02-21 06:00 UTC" in page
    assert token.split(".")[2] not in page, "a token is shown once, when made, never again"
    assert "scheduling-site" in page
    revoked = await admin.submit("/accounts/officer.kim/tokens/laptop/revoke", follow_redirects=True)
    assert revoked.status_code == 200 and "No account has a token." in revoked.text
    with db() as session:
        assert tokens.token_holder(session, token, NOW) is None


async def test_an_officer_may_not_revoke_tokens(signed_in, db) -> None:
    with db.begin() as session:
        tokens.issue_staff_token(session, "officer.njeri", NOW)
    officer = await signed_in("officer.kim")
    await officer.get("/")
    refused = await officer.submit("/accounts/officer.njeri/tokens/default/revoke")
    assert refused.status_code == 403
    with db() as session:
        assert session.scalars(select(ApiToken)).all()


async def test_an_account_without_the_posts_its_role_needs_is_refused(signed_in) -> None:
    admin = await signed_in("admin.ana")
    await admin.get("/accounts")
    refused = await admin.submit("/accounts", {"name": "officer.x", "role": "officer", "password": "a long enough secret"})
    assert refused.status_code == 422 and "an officer needs at least one post" in refused.text


async def test_what_applicants_wrote_is_shown_as_text_never_as_markup(signed_in, store_request) -> None:
    case = store_request(reason="<script>alert('x')</script> I was ill.")
    html = (await (await signed_in("officer.kim")).get(f"/requests/{case}")).text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; I was ill." in html


async def test_an_email_the_mail_server_refused_for_good_is_shown_to_officers(signed_in, store_request, db) -> None:
    case_number = store_request()
    with db.begin() as session:
        (message,) = session.scalars(select(OutboxMessage)).all()
        repository.mark_refused(session, message.message_key, "550 mailbox unavailable", NOW)
    page = await (await signed_in("officer.kim")).get(f"/requests/{case_number}")
    assert "REFUSED by the mail server" in page.text and "550 mailbox unavailable" in page.text
