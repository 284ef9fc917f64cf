"""Settings: the only place that reads the environment.

Every setting is a ``PRIVACY_*`` environment variable or a line of a ``.env``
file. An unknown ``PRIVACY_`` variable or an invalid value stops start-up with
a message naming the variable, so a typo never silently falls back to a
default.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from privacy_service.crypto.passwords import OWASP_MIN_MEMORY_KIB, OWASP_MIN_TIME_COST

ENV_PREFIX = "PRIVACY_"

# Variables under this prefix belong to the test suite (PRIVACY_TEST_DATABASE_URL),
# not to the service; they may be present in a developer's shell.
_RESERVED_PREFIXES = ("PRIVACY_TEST_",)

MiB = 1024 * 1024
#: The shortest PRIVACY_METRICS_TOKEN accepted: whoever guesses it reads the service's traffic figures.
METRICS_TOKEN_MIN_LENGTH = 16
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


#: CCPA regulations §7101(a): the records of consumers' requests are kept at least 24 months.
DSR_RECORD_MONTHS_MINIMUM = 24

#: WCAG 2.1 AA (1.4.3): the least contrast of normal text with its background.
WCAG_AA_CONTRAST = 4.5


def contrast_with_white(color: str) -> float:
    """The WCAG contrast ratio of white on ``color`` (``#rrggbb``), from their relative luminances."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(color[index : index + 2]) for index in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)


class SettingsError(Exception):
    """The configuration cannot be used; the message names each bad setting."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class Settings(BaseSettings):
    """Every knob the service has, with defaults that are safe on a laptop."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="forbid", frozen=True
    )

    data_dir: Path = Field(
        default=Path("data"), description="Where the embedded database and the local key file live."
    )
    policies_dir: Path | None = Field(
        default=None,
        description="The policies directory (jurisdictions, retention, downstream systems). "
        "Default: policies/ of the source checkout, else the copy bundled with the package.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. "
        "Default: SQLite in the data dir.",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL others reach the service at (token issuer, callback URLs). "
        "Default: http://<host>:<port> of serve.",
    )
    rate_limit_url: str | None = Field(
        default=None,
        description="Shared rate-limit storage (redis://...) for several processes. Default: the database.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token that may read GET /metrics (at least 16 characters). "
        "Default: none, and /metrics answers 404.",
    )
    delivery_retry_min_seconds: float = Field(
        default=2.0, gt=0, description="First pause between delivery attempts."
    )
    delivery_retry_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest pause between delivery attempts."
    )
    delivery_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="How long a delivery waits for a downstream system registered through the API "
        "(systems in policies/ set their own).",
    )
    delivery_concurrency: int = Field(
        default=64, ge=1, le=512, description="Deliveries to downstream systems in flight at once per worker."
    )
    dsr_export_days: float = Field(
        default=7.0,
        gt=0,
        le=90,
        description="How long the export bundle of an access request can be downloaded before it is purged.",
    )
    dsr_record_months: int = Field(
        default=DSR_RECORD_MONTHS_MINIMUM,
        le=1200,
        description="How long the record of a data subject request is kept after it ended, in calendar "
        f"months (at least {DSR_RECORD_MONTHS_MINIMUM}); then the worker deletes it with its tasks.",
    )
    dsr_recent_login_minutes: float = Field(
        default=15.0,
        gt=0,
        le=1440,
        description="A customer files a request only this soon after signing in (proof of credentials).",
    )
    erasure_journal_file: Path | None = Field(
        default=None,
        description="Erasures are also appended here (keyed digests only), outside the database, so "
        "`erasures replay` can erase again what a restored backup brings back. "
        "Default: <data dir>/erasure-journal.jsonl.",
    )
    max_body_bytes: int = Field(
        default=1 * MiB, ge=1024, description="Request bodies larger than this are refused with 413."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Threshold of the JSON log on stderr."
    )
    worker_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often the background worker looks for work."
    )
    db_pool_size: int = Field(
        default=10, ge=1, le=200, description="Connections kept per process (PostgreSQL)."
    )

    key_provider: Literal["file", "environment"] = Field(
        default="file",
        description="Where key-encryption keys live: a 0600 key file in the data dir (created on first run), "
        "or PRIVACY_KEKS, PRIVACY_BLIND_INDEX_KEY and PRIVACY_PEPPER_KEY.",
    )
    key_file: Path | None = Field(
        default=None, description="The local key file. Default: <data dir>/keys.json."
    )
    keks: SecretStr | None = Field(
        default=None,
        description="Key-encryption keys of the environment provider: 'version:base64' pairs, "
        "comma-separated (32-byte keys); the highest version wraps new data keys.",
    )
    blind_index_key: SecretStr | None = Field(
        default=None, description="Base64 32-byte key of the email blind index (environment provider)."
    )
    pepper_key: SecretStr | None = Field(
        default=None, description="Base64 32-byte key that peppers password hashes (environment provider)."
    )
    data_key_cache_size: int = Field(
        default=10_000, ge=0, description="Unwrapped data keys kept in memory per process (0: no cache)."
    )
    data_key_cache_seconds: float = Field(
        default=300.0, ge=0, le=3600, description="How long an unwrapped data key stays in memory."
    )

    argon2_time_cost: int = Field(default=2, ge=1, description="argon2id iterations (OWASP minimum 2).")
    argon2_memory_kib: int = Field(
        default=19_456, ge=8, description="argon2id memory in KiB (OWASP minimum 19456 = 19 MiB)."
    )
    argon2_parallelism: int = Field(default=1, ge=1, le=16, description="argon2id lanes.")
    argon2_insecure_for_tests: bool = Field(
        default=False,
        description="Allow argon2 parameters below OWASP's minimum. "
        "For the test suite only; never in production.",
    )
    password_pool_workers: int | None = Field(
        default=None, ge=1, le=256, description="Threads hashing passwords. Default: the number of cores."
    )
    password_pool_queue: int | None = Field(
        default=None,
        ge=0,
        le=100_000,
        description="The most password checks that may wait for a thread, whatever their expected wait "
        "(bounds memory); beyond it logins get 503. Default: 256 per thread.",
    )
    password_pool_wait_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="A login waits for a password thread while its expected wait is at most this; "
        "beyond it logins get 503 + Retry-After at once.",
    )
    password_min_length: int = Field(default=8, ge=8, le=64, description="Shortest password of a customer.")
    staff_password_min_length: int = Field(default=12, ge=8, le=64, description="Shortest password of staff.")
    access_token_seconds: int = Field(default=300, ge=30, le=3600, description="Lifetime of access tokens.")
    session_days: int = Field(
        default=30, ge=1, le=365, description="Lifetime of a login session and its refresh tokens."
    )
    mfa_token_seconds: int = Field(
        default=300, ge=30, le=900, description="How long a password login waits for its second factor."
    )
    approval_minutes: float = Field(
        default=5,
        gt=0,
        le=60,
        description="A shop's approval of an operation is confirmed with the subject's code within this.",
    )
    web_session_idle_minutes: float = Field(
        default=30, gt=0, le=720, description="A web page session ends after this long without a request."
    )
    web_session_hours: float = Field(
        default=12, gt=0, le=168, description="A web page session ends this long after sign-in, however used."
    )
    idempotency_key_hours: float = Field(
        default=48,
        ge=24,
        le=720,
        description="How long the answer to a shop event's Idempotency-Key is kept (at least 24 hours).",
    )
    shop_name: str = Field(
        default="privacy-service",
        min_length=1,
        max_length=100,
        description="The shop's name, shown on the privacy center and the console.",
    )
    shop_logo_file: Path | None = Field(
        default=None,
        description="The shop's logo (SVG or PNG) on the privacy center and the console.",
    )
    shop_accent_color: str = Field(
        default="#1d4ed8",
        pattern=r"^#[0-9a-fA-F]{6}$",
        description="The shop's colour for links and buttons, #rrggbb; white text on it must stay readable.",
    )
    totp_issuer: str = Field(
        default="privacy-service",
        min_length=1,
        max_length=64,
        description="Issuer shown in authenticator apps.",
    )
    audit_checkpoint_every: int = Field(
        default=1000, ge=1, description="A signed audit checkpoint after at most this many sealed events."
    )
    audit_checkpoint_seconds: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="A signed audit checkpoint at least this often, even if idle.",
    )
    audit_seal_batch: int = Field(
        default=1000, ge=1, le=100_000, description="Audit events the sealer chains per transaction."
    )
    audit_witness_file: Path | None = Field(
        default=None,
        description="Also append every audit checkpoint to this file "
        "(storage the database host cannot rewrite).",
    )
    audit_retention_days: int | None = Field(
        default=None,
        ge=1,
        description="`privacy-service audit archive` without --before archives audit events older than "
        "this many days; none keeps them forever.",
    )
    signing_key_cache_seconds: float = Field(
        default=30.0,
        gt=0,
        le=55,
        description="How long a process trusts its cached token-signing keys; "
        "a rotated key is in use everywhere within this time.",
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be an sqlite:// or postgresql+psycopg:// URL")
        if value.startswith("postgresql") and not value.startswith("postgresql+psycopg://"):
            raise ValueError("PostgreSQL URLs must use the psycopg 3 driver: postgresql+psycopg://...")
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("rate_limit_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @field_validator("dsr_record_months")
    @classmethod
    def _records_kept_as_the_law_asks(cls, value: int) -> int:
        if value < DSR_RECORD_MONTHS_MINIMUM:
            raise ValueError(
                f"must be at least {DSR_RECORD_MONTHS_MINIMUM}: the CCPA regulations (§7101) ask that the "
                f"record of every request be kept {DSR_RECORD_MONTHS_MINIMUM} months"
            )
        return value

    @field_validator("shop_accent_color")
    @classmethod
    def _readable_accent(cls, value: str) -> str:
        """White text on the accent (buttons) needs WCAG 2.1 AA contrast, 4.5:1."""
        contrast = contrast_with_white(value)
        if contrast < WCAG_AA_CONTRAST:
            raise ValueError(
                f"white text on {value} has a contrast of {contrast:.1f}:1, under WCAG AA's "
                f"{WCAG_AA_CONTRAST}:1: choose a darker colour"
            )
        return value

    @field_validator("shop_logo_file")
    @classmethod
    def _logo_is_an_image(cls, value: Path | None) -> Path | None:
        if value is not None and value.suffix.lower() not in (".svg", ".png"):
            raise ValueError("must be an .svg or .png file")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _unguessable_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < METRICS_TOKEN_MIN_LENGTH:
            raise ValueError(
                f"must be at least {METRICS_TOKEN_MIN_LENGTH} characters: a random token "
                "such as `openssl rand -hex 32` prints"
            )
        if not _BEARER_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("may hold only letters, digits and -._~+/ (RFC 6750 §2.1), with = at the end")
        return value

    @field_validator("keks")
    @classmethod
    def _kek_list(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        for pair in value.get_secret_value().split(","):
            version, _, material = pair.strip().partition(":")
            if not version.isdigit() or int(version) < 1 or not material:
                raise ValueError("must be 'version:base64' pairs separated by commas, versions from 1")
        return value

    @property
    def kek_versions(self) -> dict[int, str]:
        """The environment provider's KEKs, version → base64 (validated above)."""
        if self.keks is None:
            return {}
        pairs = (pair.strip().partition(":") for pair in self.keks.get_secret_value().split(","))
        return {int(version): material for version, _, material in pairs}

    @property
    def approval_lifetime(self) -> timedelta:
        return timedelta(minutes=self.approval_minutes)

    @property
    def idempotency_key_retention(self) -> timedelta:
        return timedelta(hours=self.idempotency_key_hours)

    @property
    def web_session_idle(self) -> timedelta:
        return timedelta(minutes=self.web_session_idle_minutes)

    @property
    def web_session_lifetime(self) -> timedelta:
        return timedelta(hours=self.web_session_hours)

    @property
    def effective_erasure_journal_file(self) -> Path:
        return self.erasure_journal_file or self.data_dir / "erasure-journal.jsonl"

    @property
    def effective_key_file(self) -> Path:
        return self.key_file or self.data_dir / "keys.json"

    @property
    def effective_policies_dir(self) -> Path:
        """The policies in use: the setting, else the shipped ones (``shipped_policies_dir``)."""
        return self.policies_dir if self.policies_dir is not None else shipped_policies_dir()

    @property
    def effective_notices_dir(self) -> Path:
        """The notice templates: ``notices/`` of the policies in use, else the shipped ones."""
        own = self.effective_policies_dir / "notices"
        return own if own.is_dir() else shipped_policies_dir() / "notices"

    @property
    def is_embedded(self) -> bool:
        """True on the embedded default: SQLite, one process, keys in the data dir."""
        return self.database_url is None or self.database_url.startswith("sqlite")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'privacy.db').resolve()}"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and .env), refusing unknown or invalid ones.

    Keyword overrides win over the environment (the CLI's options, tests).
    Raises SettingsError whose problems each name the offending variable.
    """
    environ = os.environ
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    unknown = sorted(
        key
        for key in environ
        if key.upper().startswith(ENV_PREFIX)
        and key.upper() not in known
        and not key.upper().startswith(_RESERVED_PREFIXES)
    )
    problems = [f"{key}: unknown setting" for key in unknown]
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        for item in error.errors(include_input=False, include_url=False):
            field = str(item["loc"][0]) if item["loc"] else "?"
            name = field.upper() if field.upper().startswith(ENV_PREFIX) else ENV_PREFIX + field.upper()
            message = item["msg"] if item["type"] != "extra_forbidden" else "unknown setting"
            problems.append(f"{name}: {message}")
        raise SettingsError(sorted(set(problems))) from None
    if problems:
        raise SettingsError(problems)
    if settings.delivery_retry_min_seconds > settings.delivery_retry_max_seconds:
        problems.append(
            "PRIVACY_DELIVERY_RETRY_MIN_SECONDS: must not exceed PRIVACY_DELIVERY_RETRY_MAX_SECONDS"
        )
    if not settings.argon2_insecure_for_tests:
        problems += _argon2_below_minimum(settings)
    if settings.key_provider == "environment":
        for name in ("keks", "blind_index_key", "pepper_key"):
            if getattr(settings, name) is None:
                problems.append(f"{ENV_PREFIX}{name.upper()}: required when PRIVACY_KEY_PROVIDER=environment")
    if problems:
        raise SettingsError(problems)
    return settings


def _argon2_below_minimum(settings: Settings) -> list[str]:
    """The hasher refuses argon2 parameters below OWASP's minimum; say so at start-up, by variable."""
    problems = []
    if settings.argon2_time_cost < OWASP_MIN_TIME_COST:
        problems.append(
            f"{ENV_PREFIX}ARGON2_TIME_COST: must be at least {OWASP_MIN_TIME_COST} (OWASP's minimum)"
        )
    if settings.argon2_memory_kib < OWASP_MIN_MEMORY_KIB:
        problems.append(
            f"{ENV_PREFIX}ARGON2_MEMORY_KIB: must be at least {OWASP_MIN_MEMORY_KIB} (OWASP's minimum)"
        )
    return problems


def shipped_policies_dir() -> Path:
    """The policies shipped with the service: the checkout's policies/, else the wheel's bundled copy.

    A checkout is recognised by its policies/jurisdictions.yaml next to the package, so an
    installed package never picks up an unrelated policies/ directory.
    """
    package_dir = Path(__file__).resolve().parents[1]
    checkout = package_dir.parent / "policies"
    if (checkout / "jurisdictions.yaml").is_file():
        return checkout
    return package_dir / "_bundled" / "policies"
