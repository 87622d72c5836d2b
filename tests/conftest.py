from tests.pbx_fixture import pbx  # noqa: F401  (session fixture: the private Asterisk)
