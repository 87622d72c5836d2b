"""Settings: environment variables HOTLINE_* only (pydantic-settings).

Layer: edge. No secret has a default: the AMI secret and the session secret
must be set (`hotline up` generates both and keeps them in the state folder).
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cti.dial_allow import DEFAULT_DIAL_ALLOW, DialAllowList


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    database_url: str = "sqlite:///hotline.db"
    # set: events and agent actions are shared over Redis pub/sub between the one
    # instance with the AMI bridge (ami_enabled) and web-only instances (ami_enabled=false)
    redis_url: str | None = None
    redis_prefix: str = "hotline"  # channels are <prefix>:<queue_name>:events|requests|reply:<id>
    redis_action_timeout: float = 8.0  # a web-only instance's wait for the bridge's answer (then 503)

    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str = "hotline"
    ami_secret: SecretStr | None = None  # required to start the bridge; no default
    ami_enabled: bool = True

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    session_secret: SecretStr | None = None  # required to serve; no default
    allowed_origins: list[str] = Field(default_factory=list)  # empty: same host:port only
    cookie_secure: bool = False

    default_region: str = "DE"
    queue_name: str = "hotline"
    # what click-to-dial and transfer may reach: Asterisk extension patterns, comma-
    # separated ("10XX,5555,0[1-9]X."); `hotline asterisk up` renders the same list
    # into the `agents` dialplan context. Default: the agents' extensions and the hotline.
    dial_allow: str = DEFAULT_DIAL_ALLOW
    service_level_seconds: int = 25
    short_abandon_seconds: int = 5
    callback_window_minutes: int = 60
    # service hours "mon-fri 07:00-17:00"; empty = 24/7
    service_hours: str = ""
    timezone: str = "Europe/Berlin"
    # resolution-time targets per priority, hours
    sla_hours_critical: float = 4
    sla_hours_high: float = 8
    sla_hours_normal: float = 24
    sla_hours_low: float = 72
    # Asterisk's queue_log file: read at start-up to record calls that finished
    # while hotline was down (empty: no reconciliation)
    queue_log: str = ""
    reconcile_hours: int = 24
    # write tickets and call records from a process of its own (off the loop's GIL);
    # false: a thread (what the API tests use, to start quickly)
    writer_process: bool = True
    retention_days: int = 0  # 0: keep call records forever
    mask_caller_numbers: bool = False
    login_rate_limit_per_minute: int = 10

    @field_validator("dial_allow")
    @classmethod
    def _dial_allow_parses(cls, value: str) -> str:
        DialAllowList.parse(value)  # a bad pattern stops the start with its reason
        return value

    @property
    def dial_allow_list(self) -> DialAllowList:
        return DialAllowList.parse(self.dial_allow)

    @property
    def web_only(self) -> bool:
        """Scaled out without the AMI bridge: events come over Redis, and this
        instance neither writes call records nor reconciles queue_log."""
        return bool(self.redis_url) and not self.ami_enabled
