"""The applicant's pages: server-rendered, at /applicant, beside the officer console.

The applicant signs in with the case number and the secret of the acknowledgement email,
then reads the request's status, books an appointment from the post's open slots, moves
or cancels it, and prints the confirmation. `session` holds the signed cookie and the
sign-in check, `views` what each page shows, and `routes` the FastAPI router that
`reschedule_desk.api.create_app` includes.
"""
