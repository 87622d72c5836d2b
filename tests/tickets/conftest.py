from tests.db_fixture import database_url  # noqa: F401
