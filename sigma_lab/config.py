"""Settings, read from the environment with the prefix ``SIGMA_`` (or a ``.env`` file).

With no settings at all Sigma Lab runs embedded: SQLite and Parquet under the workspace,
an in-process cache and a local executor.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where Sigma Lab keeps its state and which services it talks to."""

    model_config = SettingsConfigDict(env_prefix="SIGMA_", env_file=".env", extra="ignore")

    workspace: Path = Field(default=Path("workspace"), description="Folder for the store, data, artifacts.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite at <workspace>/sigma.db."
    )
    redis_url: str | None = Field(default=None, description="redis://... for caching and events.")
    dask_scheduler: str | None = Field(default=None, description="tcp://host:port of a Dask scheduler.")
    polygon_api_key: SecretStr | None = Field(default=None, description="Polygon.io API key.")
    polygon_base_url: str = Field(default="https://api.polygon.io", description="Polygon REST base URL.")
    cache_size: int = Field(default=64, ge=1, description="Ranges kept by the in-process bar cache.")
    packs_dir: Path | None = Field(default=None, description="Folder of packs; default the shipped packs/.")

    # The API face: limits, caching and webhook delivery.
    allow_private_webhooks: bool = Field(
        default=False, description="Allow webhook targets on private, loopback or link-local addresses."
    )
    api_requests_per_minute: int = Field(default=600, ge=1, description="Default per-key rate limit.")
    api_concurrent_jobs: int = Field(default=4, ge=1, description="Default per-key concurrent jobs.")
    api_sweeps_per_day: int = Field(default=50, ge=0, description="Default per-key sweeps per day.")
    api_max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body.")
    api_max_page_size: int = Field(default=500, ge=1, description="Largest page a list route returns.")
    api_cache_reference_ttl: int = Field(
        default=3600, ge=1, description="Seconds reference reads stay cached."
    )
    api_cache_dynamic_ttl: int = Field(default=300, ge=1, description="Seconds dynamic reads stay cached.")
    webhook_max_attempts: int = Field(default=6, ge=1, le=20, description="Deliveries tried per event.")
    webhook_backoff_seconds: float = Field(default=2.0, gt=0, description="First retry delay; doubles.")
    webhook_backoff_max_seconds: float = Field(default=600.0, gt=0, description="Largest retry delay.")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one delivery.")
    webhook_poll_seconds: float = Field(default=1.0, gt=0, description="Worker poll interval.")

    @property
    def workspace_path(self) -> Path:
        return self.workspace.expanduser().resolve()

    @property
    def database(self) -> str:
        """The effective database URL."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.workspace_path / 'sigma.db'}"

    @property
    def data_dir(self) -> Path:
        return self.workspace_path / "data"

    @property
    def artifacts_dir(self) -> Path:
        return self.workspace_path / "artifacts"

    @property
    def matrices_dir(self) -> Path:
        return self.workspace_path / "matrices"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; ``get_settings.cache_clear()`` re-reads the environment."""
    return Settings()
