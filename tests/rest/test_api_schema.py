"""schemathesis over the OpenAPI spec, with an admin key and a bounded budget: no server errors."""

from __future__ import annotations

import os
import tempfile
import uuid

import schemathesis
from hypothesis import HealthCheck, settings

from api import create_app
from sigma_lab import auth, store
from sigma_lab.cache import ResponseCache
from sigma_lab.config import get_settings
from sigma_lab.ratelimit import RateLimiter

_WORKSPACE = tempfile.mkdtemp(prefix="sigma-schema-")
os.environ.setdefault("SIGMA_SCHEMA_TEST_WORKSPACE", _WORKSPACE)


def _app() -> object:
    os.environ["SIGMA_WORKSPACE"] = os.environ["SIGMA_SCHEMA_TEST_WORKSPACE"]
    os.environ.pop("SIGMA_DATABASE_URL", None)
    get_settings.cache_clear()
    store.reset()
    app = create_app(
        cache=ResponseCache(None, namespace=f"schema:{uuid.uuid4().hex}"),
        limiter=RateLimiter(None),
        deliver_webhooks=False,
    )
    _, plaintext = auth.create_key("admin", "schemathesis", {"requests_per_minute": 1_000_000})
    app.state.schema_key = plaintext
    return app


APP = _app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema = schema.exclude(path_regex=r"^/(backtests|models/\{model_id\}/(build|train))$")


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_every_generated_request_without_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"X-API-Key": APP.state.schema_key},
        checks=[schemathesis.checks.not_a_server_error],
    )
