"""Storage of the desk's data in SQL: tables, engine, migrations and the repository.

Only activities, the web app and the CLI import this package; workflow code never does.
"""
