"""Routers by resource; ``ROUTERS`` is what the app includes, in order."""

from api.routes import admin, health, jobs, leaderboard, models, reference, runs, signals, sweeps, webhooks

ROUTERS = [
    health.router,
    reference.router,
    models.router,
    jobs.router,
    runs.router,
    signals.router,
    sweeps.router,
    leaderboard.router,
    webhooks.router,
    admin.router,
]

__all__ = ["ROUTERS"]
