"""Settings: environment variables HOTLINE_* only (pydantic-settings).

Layer: edge. No secret has a default: the AMI secret and the session secret
must be set (`hotline up` generates both and keeps them in the state folder).
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cti.dial_allow import DEFAULT_DIAL_ALLOW, DialAllowList
from tickets.routing import parse_teams
from tickets.service_calendar import parse_region
from tickets.sites import DEFAULT_SITE, valid_site
from tickets.sla import ServiceHours


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    database_url: str = "sqlite:///hotline.db"
    # this instance's site (tickets.sites): one Asterisk and one bridge instance per site, all
    # sites on one database and one Redis; what the bridge records and relays carries it
    site: str = DEFAULT_SITE
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
    # FastAGI on the bridge instance (loopback): the dialplan's `route` script; the
    # dialplan falls back to the plain queue when it does not answer in time
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    agi_deadline_seconds: float = 0.3
    # the caller dialogue (extensions_ivr.conf): language choice for callers hotline
    # does not know, ticket status by phone, the survey after the call
    ivr: bool = True
    # focus teams routed by penalty band, in a fixed order (append only): "Kommunen,Schulen,Werke"
    focus_teams: str = ""
    service_level_seconds: int = 25
    short_abandon_seconds: int = 5
    # reports: a call's ticket counts as solved at first contact only if the caller did not
    # get in touch again within this many days (tickets.report_facts states the whole rule)
    fcr_days: int = Field(default=7, ge=1, le=90)
    callback_window_minutes: int = 60
    # service hours "mon-fri 07:00-17:00, sat 09:00-12:00"; empty = 24/7
    service_hours: str = ""
    # public holidays (closed; the SLA clock stops): "" none, "DE", "DE-SN", "DE-BY" ...
    holidays: str = ""
    timezone: str = "Europe/Berlin"
    # resolution-time targets per priority, hours
    sla_hours_critical: float = 4
    sla_hours_high: float = 8
    sla_hours_normal: float = 24
    sla_hours_low: float = 72
    # timed escalation (agent_console/escalation_job.py): seconds between scans (0: off);
    # the task-force alarm's mail goes to these addresses (comma separated; "" no mail)
    escalation_every_seconds: float = 30
    taskforce_mail: str = ""
    # Asterisk's queue_log file: read at start-up to record calls that finished
    # while hotline was down (empty: no reconciliation)
    queue_log: str = ""
    reconcile_hours: int = 24
    # write tickets and call records, scan for escalations and catch the report
    # aggregates up each in a process of its own (off the loop's GIL);
    # false: threads (what the API tests use, to start quickly)
    writer_process: bool = True
    retention_days: int = 0  # 0: keep call records forever
    mask_caller_numbers: bool = False

    # logins (policy in agent_console/login_limits.py): failed attempts per
    # (username, address) a minute; per address (any username) a minute, high
    # enough for an office behind one NAT address; consecutive failures of one
    # username before its backoff starts, and the longest backoff
    login_rate_limit_per_minute: int = 10
    login_address_limit_per_minute: int = 100
    login_free_failures: int = 5
    login_backoff_max_seconds: float = 300
    login_refusal_delay_seconds: float = 1.0  # a throttled login's 429 comes after this pause
    # password checks (argon2) run on their own threads, never on the pool plain
    # `def` routes share, split into two lanes (addresses with and without a recent
    # failure); beyond a lane's workers + queue a login gets 503 at once
    login_workers: int = 2
    login_queue: int = 4
    # comma-separated addresses/networks of reverse proxies whose X-Forwarded-For
    # is believed; empty: the header is ignored (the client is the TCP peer)
    trusted_proxies: str = ""

    # server-side sessions: idle timeout, absolute lifetime, at most N per user
    # (the oldest ends); a session read is cached this long on each instance
    session_idle_minutes: float = 30
    session_lifetime_hours: float = 12
    sessions_per_user: int = 10
    session_cache_seconds: float = 5
    # WebSockets: at most N per session (close 4429 beyond), session re-checked every N s (4401)
    ws_per_session: int = 10
    ws_session_check_seconds: float = 5
    # the garbage collector's full passes every N s at a quiet moment (agent_console/gc_quiet.py);
    # 0: Python's own schedule. `hotline serve` makes it 60 unless this is set.
    gc_full_every: float = Field(default=0.0, ge=0)
    # request bodies: the default limit; /api/session and the CSV import have their own
    max_body_bytes: int = 1024 * 1024

    # mail in (bridge instance only): "127.0.0.1:2525" (SMTP) or "lmtp:127.0.0.1:2424"; empty: off.
    # The site's MTA forwards the help-desk address here (agent_console/mail_in.py)
    mail_listen: str = ""
    mail_hostname: str = "hotline"  # the name the listener greets with (no DNS lookup for it)
    # SMTP/LMTP sessions open at once; one more is greeted with 421 and closed (the MTA retries later)
    mail_max_connections: int = Field(default=50, ge=1)
    mail_max_bytes: int = 25 * 1024 * 1024  # a whole message; more is refused with 552
    mail_max_attachment_bytes: int = 10 * 1024 * 1024  # one attachment (mail and form)
    # accepted attachment types, comma-separated MIME types; empty: tickets.mail_parse.DEFAULT_TYPES
    mail_attachment_types: str = ""
    # the domain of the Message-IDs hotline sends: mail carrying one is our own coming back (a loop)
    mail_domain: str = "hotline.invalid"
    # mail out: callers' notifications (ticket created, escalated, resolved) go through this
    # server, smtp://[user:password@]host[:port] or smtps://…; empty: none are queued or sent
    smtp_url: str = ""
    mail_from: str = ""  # the notifications' From; empty: hotline@<mail_domain>
    # fax in (bridge instance only): the folder Asterisk's fax number writes into
    # (`hotline asterisk up`'s spool/fax; agent_console/fax_in.py); empty: off
    fax_spool: str = ""
    fax_poll_seconds: float = Field(default=1.0, gt=0)  # how often the spool is read
    # the public request form (/request): posts per address a minute (429 beyond)
    form_limit_per_minute: int = 5

    @field_validator("site")
    @classmethod
    def _site_valid(cls, value: str) -> str:
        return valid_site(value)  # HOTLINE_SITE=Berlin stops the start with the rule

    @field_validator("dial_allow")
    @classmethod
    def _dial_allow_parses(cls, value: str) -> str:
        DialAllowList.parse(value)  # a bad pattern stops the start with its reason
        return value

    @field_validator("service_hours")
    @classmethod
    def _hours_parse(cls, value: str) -> str:
        ServiceHours.parse(value)  # `mon-fri 07:00-17:00, sat 09:00-12:00`; a typo stops the start
        return value

    @field_validator("holidays")
    @classmethod
    def _region_known(cls, value: str) -> str:
        parse_region(value)
        return value

    @field_validator("focus_teams")
    @classmethod
    def _teams_parse(cls, value: str) -> str:
        parse_teams(value)
        return value

    @property
    def dial_allow_list(self) -> DialAllowList:
        return DialAllowList.parse(self.dial_allow)

    @property
    def web_only(self) -> bool:
        """Scaled out without the AMI bridge: events come over Redis, and this
        instance neither writes call records nor reconciles queue_log."""
        return bool(self.redis_url) and not self.ami_enabled
