"""shopstream's settings: one frozen object, read once at the edge and passed down.

Values come, highest precedence first, from keyword arguments, ``SHOPSTREAM_*``
environment variables (nested keys joined by ``__``, e.g.
``SHOPSTREAM_GENERATOR__ANOMALY_RATE=0``), a TOML file (``shopstream.toml`` in the
working directory, or the file named by ``SHOPSTREAM_CONFIG`` / ``--config``) and
the defaults below. A bad value is rejected by :func:`load_settings` with a
:class:`SettingsError` naming the key and what it allows.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.types import SecretStr
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shopstream.errors import ShopstreamError

DEFAULT_CONFIG_FILE = Path("shopstream.toml")
CONFIG_ENV = "SHOPSTREAM_CONFIG"


class SettingsError(ShopstreamError):
    """A setting has a value shopstream cannot use."""


class FunnelSettings(BaseModel):
    """How shoppers move through a visit.

    With ``preset = "funnel"`` each web/app visit browses, may fill a cart
    (``cart_rate``), may start checkout (``checkout_rate`` of carts), may pay
    (``purchase_rate`` of checkouts); a payment fails with ``payment_failure_rate``
    and is retried once in half the cases. The defaults give about 3% of visits
    converting and 70% of carts abandoned. ``preset = "flat"`` instead draws every
    event of a visit independently from ``flat_mix`` (views, cart events,
    purchases), as the GlobalMart reference generator did (60/30/10).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    preset: Literal["funnel", "flat"] = "funnel"
    login_rate: float = Field(0.55, ge=0, le=1, description="Share of web/app visits by a known customer.")
    bounce_rate: float = Field(0.35, ge=0, le=1, description="Share of visits with a single page view.")
    cart_rate: float = Field(0.10, ge=0, le=1)
    checkout_rate: float = Field(0.46, ge=0, le=1)
    purchase_rate: float = Field(0.70, ge=0, le=1)
    payment_failure_rate: float = Field(0.04, ge=0, le=1)
    bundle_rate: float = Field(
        0.35, ge=0, le=1, description="Chance a cart add brings the product's partner."
    )
    pos_share: float = Field(0.06, ge=0, le=1, description="Share of visits that are in-store (pos) sales.")
    flat_mix: tuple[float, float, float] = (0.60, 0.30, 0.10)

    @field_validator("flat_mix")
    @classmethod
    def _mix_sums_to_one(cls, mix: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(share < 0 for share in mix) or abs(sum(mix) - 1.0) > 1e-6:
            raise ValueError("must be three non-negative shares (views, cart events, purchases) summing to 1")
        return mix


class GeneratorSettings(BaseModel):
    """The simulated shop: its size, traffic, start and anomaly rate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(42, ge=0, lt=2**32)
    customers: int = Field(10_000, ge=1, le=10_000_000)
    products: int = Field(1_000, ge=10, le=250_000)
    stores: int = Field(24, ge=1, le=500)
    sessions_per_day: int = Field(40_000, ge=1, le=50_000_000, description="Mean visits per day.")
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    anomaly_rate: float = Field(0.05, ge=0, le=0.5, description="0 disables every injected anomaly.")
    funnel: FunnelSettings = FunnelSettings()

    @field_validator("start")
    @classmethod
    def _utc_minute(cls, start: datetime) -> datetime:
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return start.astimezone(UTC).replace(second=0, microsecond=0)


class IngestSettings(BaseModel):
    """Ingestion: where it writes, and the allowances of its rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    db: Path = Field(Path("shopstream.duckdb"), description="The DuckDB file ingestion writes.")
    clock_skew_seconds: int = Field(
        300, ge=0, description="How far an event may lie in the future of the ingestion clock."
    )
    batch_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Bytes of a text file (JSON Lines, CSV) read per batch."
    )
    batch_rows: int = Field(262_144, ge=1, description="Rows of a Parquet file read per batch.")
    dedupe_horizon_days: float = Field(
        7.0, gt=0, description="Event time behind the newest event within which re-sent ids are recognised."
    )
    compact_files: int = Field(
        16,
        ge=2,
        description="Small files of accepted events that are merged into one once there are this many.",
    )
    compact_below_events: int = Field(
        100_000, ge=1, description="A file of accepted events holding fewer events than this is small."
    )


class DetectorSettings(BaseModel):
    """Thresholds of the stream's detectors (orders and behaviour, then metrics)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    high_value_order: float = Field(5_000, gt=0, description="An order worth more than this is flagged.")
    high_quantity: int = Field(50, ge=1, description="A line of at least this many units is flagged.")
    price_spike_factor: float = Field(
        3.0, gt=1, description="A line priced at this many times the catalogue price or more is flagged."
    )
    suspicious_orders: int = Field(3, ge=1, description="Orders by one customer within the window flagged.")
    suspicious_amount: float = Field(10_000, gt=0, description="Spend by one customer within the window.")
    suspicious_minutes: int = Field(5, ge=1, le=60, description="The window of the suspicious-customer rule.")
    bot_min_events: int = Field(50, ge=2, description="A session needs this many events to be a bot.")
    bot_events_per_minute: float = Field(
        3.0, gt=0, description="... and at least this rate over its duration (humans stay below 3)."
    )
    baseline_windows: int = Field(12, ge=3, description="Previous 5-minute windows in a metric's baseline.")
    pool_windows: int = Field(
        3,
        ge=2,
        le=6,
        description="Latest windows a metric detector judges (alone and pooled);"
        " its baseline ends before them.",
    )
    revenue_drop: tuple[float, float, float] = (0.30, 0.40, 0.50)
    traffic_z: tuple[float, float, float] = (3.0, 4.0, 5.0)
    abandonment_z: float = Field(2.5, gt=0)
    abandonment_rate: tuple[float, float, float] = (0.70, 0.80, 0.90)
    conversion_rate: tuple[float, float, float] = (0.03, 0.02, 0.01)
    missing_share: tuple[float, float, float] = (0.10, 0.25, 0.50)
    category_share: float = Field(0.60, gt=0, le=1, description="One category's share of cart adds (low).")
    category_adds: int = Field(20, ge=1, description="Cart adds the category rule needs.")
    significance: float = Field(
        1e-4,
        gt=0,
        lt=0.5,
        description="How unlikely a change must be under the baseline to be flagged"
        " (a week has 2,016 windows, and the sparse rules judge three pools each).",
    )


class StreamSettings(BaseModel):
    """The micro-batch stream: event time, sessions, inventory and the detectors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed_lateness_seconds: int = Field(
        600, ge=0, description="How far behind the newest event an event may arrive and still count."
    )
    session_timeout_minutes: int = Field(
        30,
        ge=1,
        description="Inactivity after which a session ends and a cart without a purchase is abandoned.",
    )
    retention_hours: int = Field(
        48, ge=1, description="Event time the real-time window tables keep behind the watermark."
    )
    restock_units: int = Field(10, ge=0, description="Stock at or below which a product needs restocking.")
    restock_hours: float = Field(24, gt=0, description="... or stock that runs out within this many hours.")
    velocity_minutes: int = Field(
        60, ge=5, description="Sales over this past period give a product's velocity."
    )
    high_demand_units: int = Field(20, ge=1, description="Units of one product sold in 10 minutes.")
    detectors: DetectorSettings = DetectorSettings()


class AlertSettings(BaseModel):
    """Alert delivery: the webhook (Slack-compatible), its retries and what it is sent.

    The log sink always runs; the webhook only when ``webhook_url`` is set. With
    ``webhook_secret`` each request is signed (``X-Shopstream-Signature``, see
    ``docs/alerts.md``). A delivery is tried ``attempts`` times, waiting
    ``backoff_seconds`` × 2ⁿ between tries; alerts whose peak severity is below
    ``min_severity`` are not sent to the webhook.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    webhook_url: str | None = Field(None, description="http(s) URL to POST notifications to.")
    webhook_secret: SecretStr | None = Field(None, description="Key of the HMAC-SHA256 signature.")
    attempts: int = Field(3, ge=1, le=10, description="Tries per notification before giving up.")
    backoff_seconds: float = Field(0.5, ge=0, le=60, description="Wait before the first retry; doubles.")
    timeout_seconds: float = Field(5.0, gt=0, le=120, description="Per request.")
    min_severity: Literal["low", "medium", "high", "critical"] = "medium"

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url.strip()


class Settings(BaseSettings):
    """Every setting of shopstream; later issues add their sections."""

    model_config = SettingsConfigDict(
        env_prefix="SHOPSTREAM_",
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
    )

    generator: GeneratorSettings = GeneratorSettings()
    ingest: IngestSettings = IngestSettings()
    stream: StreamSettings = StreamSettings()
    alerts: AlertSettings = AlertSettings()

    @model_validator(mode="before")
    @classmethod
    def _drop_config_pointer(cls, data: Any) -> Any:
        # SHOPSTREAM_CONFIG names the file; it is not a setting itself.
        if isinstance(data, dict):
            data.pop("config", None)
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=path))


def _describe(error: ErrorDetails) -> str:
    key = ".".join(str(part) for part in error["loc"])
    env = "SHOPSTREAM_" + "__".join(str(part) for part in error["loc"]).upper()
    return f"setting {key} ({env}): {error['msg']}"


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Read the settings; ``config`` names a TOML file to use instead of the default.

    >>> load_settings(generator={"seed": 7}).generator.seed
    7
    >>> try:
    ...     load_settings(generator={"funnel": {"preset": "zigzag"}})
    ... except SettingsError as error:
    ...     print(error)
    setting generator.funnel.preset (SHOPSTREAM_GENERATOR__FUNNEL__PRESET): Input should be 'funnel' or 'flat'
    """
    previous = os.environ.get(CONFIG_ENV)
    if config is not None:
        if not config.is_file():
            raise SettingsError(f"config file {config} does not exist; pass the path of a shopstream.toml")
        os.environ[CONFIG_ENV] = str(config)
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError("; ".join(_describe(e) for e in error.errors())) from None
    except ValueError as error:  # a TOML file that does not parse
        raise SettingsError(f"cannot read settings: {error}") from None
    finally:
        if config is not None:
            if previous is None:
                os.environ.pop(CONFIG_ENV, None)
            else:
                os.environ[CONFIG_ENV] = previous
