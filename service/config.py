"""One Settings object for the whole deployment, read from DONDOC_* environment variables."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DONDOC_", env_file=".env", extra="ignore")

    environment: str = Field(default="development", description="development | production | test")
    data_dir: Path = Field(
        default=Path("data"), description="Where the SQLite file and uploads live"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite in data_dir/dondoc.sqlite3"
    )
    database_pool_size: int = Field(
        default=5, ge=1, description="Connections kept open per process (SQLite and PostgreSQL)"
    )
    database_echo: bool = Field(
        default=False, description="Log every SQL statement (debugging only)"
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET), description="Signs cookies and links"
    )
    timezone: str = "Asia/Ho_Chi_Minh"
    due_soon_days: int = Field(
        default=3, ge=0, le=60, description="A task due within this many days is 'sắp đến hạn'"
    )
    # The report calendar used where a plan names a report but no date: "kind=dd/mm" pairs, and
    # "kind=dd" (a day of the month) for quarterly and monthly reports.
    default_report_calendar: str = Field(
        default="semiannual=10/06,annual=10/11,period=10/11,quarterly=20,monthly=25",
        description="Default report due dates where a plan gives none",
    )
    max_upload_mb: int = Field(
        default=20, description="Largest plan or evidence file accepted, in MB"
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address people open the service at; sign-in links start with it",
    )
    login_link_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="How long an e-mailed sign-in link works"
    )
    session_hours: int = Field(
        default=12, ge=1, le=24 * 30, description="How long a browser session lasts after sign-in"
    )
    cookie_secure: bool = Field(
        default=False,
        description="Send the session cookie over HTTPS only (always on in production)",
    )
    auth_rate_limit_attempts: int = Field(
        default=10, ge=1, description="Sign-in attempts allowed per e-mail and address per window"
    )
    auth_rate_limit_minutes: int = Field(
        default=15, ge=1, description="The window of `auth_rate_limit_attempts`, in minutes"
    )

    # E-mail delivery and reminders (notifications/).
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server that sends the e-mail")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP server port")
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS")
    smtp_tls: bool = Field(default=False, description="Connect with TLS from the start (port 465)")
    smtp_user: str | None = Field(default=None, description="SMTP login; none: no login")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    smtp_sender: str = Field(
        default="dondoc <dondoc@localhost>", description="The From address of every e-mail"
    )
    smtp_timeout_seconds: float = Field(
        default=30, gt=0, le=600, description="Give up on an SMTP reply after this long"
    )
    smtp_batch_size: int = Field(
        default=100, ge=1, le=10_000, description="E-mails sent over one SMTP connection"
    )
    smtp_connections: int = Field(
        default=3, ge=1, le=20, description="SMTP connections a sender uses side by side"
    )
    outbox_max_attempts: int = Field(
        default=10, ge=1, le=100, description="Temporary failures before an e-mail is failed"
    )
    outbox_retry_seconds: int = Field(
        default=60, ge=1, description="First retry delay; doubles at every temporary failure"
    )
    outbox_retry_max_seconds: int = Field(
        default=3600, ge=1, description="Longest delay between two retries"
    )
    outbox_claim_seconds: int = Field(
        default=300, ge=1, description="A sender that crashed frees its e-mails after this long"
    )
    reminder_days: str = Field(
        default="7,3,1", description="Reminders this many working days before a deadline"
    )
    reminder_on_the_day: bool = Field(default=True, description="A reminder on the due day")
    escalation_ladder: str = Field(
        default="1=focal_point+agency_head,3=lead_office,7=leadership",
        description="Working days after the deadline = who is told; '!' sends at once",
    )
    reminder_repeat_every: int = Field(
        default=5, ge=0, le=60, description="Working days between repeats after the last rung"
    )
    reminder_max_repeats: int = Field(
        default=2, ge=0, le=10, description="Repeats to the focal points after the ladder"
    )
    reminder_link_hours: int = Field(
        default=24, ge=1, le=24 * 7, description="How long the sign-in link in a reminder works"
    )
    sweep_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="How often the scheduler looks for what is due"
    )
    dispatch_seconds: int = Field(
        default=15, ge=1, le=3600, description="How often the scheduler sends queued e-mail"
    )
    digest_time: str = Field(
        default="07:30", description="When the daily digest goes out (HH:MM, Asia/Ho_Chi_Minh)"
    )
    scheduler_in_serve: bool = Field(
        default=False, description="Run the scheduler inside `dondoc serve` (one machine)"
    )

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError("DONDOC_SECRET_KEY must be set in production")
        return self

    @model_validator(mode="after")
    def _check_notification_settings(self) -> Settings:
        # Imported here: the policy module imports the models, which must not import settings.
        from notifications.policy import check_settings

        check_settings(self)
        return self

    @property
    def session_cookie_secure(self) -> bool:
        return self.cookie_secure or self.environment == "production"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dondoc.sqlite3').as_posix()}"

    def report_calendar(self) -> dict[str, str]:
        """{"semiannual": "10/06", "annual": "10/11"} from `default_report_calendar`."""
        calendar: dict[str, str] = {}
        for pair in self.default_report_calendar.split(","):
            if pair.strip():
                kind, _, day_month = pair.partition("=")
                calendar[kind.strip()] = day_month.strip()
        return calendar


@cache
def get_settings() -> Settings:
    return Settings()
