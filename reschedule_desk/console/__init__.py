"""The officer console: server-rendered pages where officers, supervisors, auditors and
admins sign in and work the queue.

`access` holds the rules of who may do what (pure, unit-tested), `security` the session
cookie, CSRF and sign-in throttling, `views` what each page shows, and `routes` the
FastAPI router that `reschedule_desk.api.create_app` includes. This module imports none
of them, so storage can use the roles without pulling in the web app.
"""
