"""The console suite's app (AMI bridge off) and logged-in users, for the HTTP checks here.

Only function-scoped fixtures are taken over; the session ones (database, pbx)
come from tests/conftest.py, once for the whole run.
"""

from tests.console.conftest import app, client, login, settings  # noqa: F401
