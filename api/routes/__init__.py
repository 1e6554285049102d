"""Routers by resource; ``ROUTERS`` is what the app includes, in order."""

from api.routes import admin, health, jobs, models, reference, runs, webhooks

ROUTERS = [
    health.router,
    reference.router,
    models.router,
    jobs.router,
    runs.router,
    webhooks.router,
    admin.router,
]

__all__ = ["ROUTERS"]
