# Session fixtures, defined once here: importing them again in a sub-conftest or a
# test module would make pytest build a second instance (a second Asterisk).
from tests.db_fixture import database_url, module_database_url  # noqa: F401  (temp SQLite or PostgreSQL schema)
from tests.pbx_fixture import end_background_calls, pbx  # noqa: F401  (the private Asterisk, its callers reaped)
