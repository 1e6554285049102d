"""Webhook subscriptions and their delivery logs (a non-admin key sees only its own)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import Id, PageParams, Researcher, WorkDep, next_cursor
from api.schemas import DeliveryOut, Page, WebhookCreate, WebhookCreated, WebhookOut
from sigma_lab import auth, events

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _owner(key: auth.KeyInfo) -> int | None:
    return None if key.allows("admin") else key.id


@router.post("", status_code=201, response_model=WebhookCreated)
def create_webhook(body: WebhookCreate, work: WorkDep, key: Researcher) -> dict[str, Any]:
    """Subscribe a URL to events; the signing secret is in this response only."""
    subscription, secret = events.create_subscription(
        work.session,
        body.url,
        body.events,
        secret=body.secret,
        description=body.description,
        api_key_id=key.id,
    )
    work.touch("webhook", subscription["id"])
    return {**subscription, "secret": secret}


@router.get("", response_model=list[WebhookOut])
def list_webhooks(work: WorkDep, key: Researcher) -> list[dict[str, Any]]:
    """Subscriptions."""
    return events.list_subscriptions(work.session, api_key_id=_owner(key))


@router.get("/{subscription_id}", response_model=WebhookOut)
def get_webhook(subscription_id: Id, work: WorkDep, key: Researcher) -> dict[str, Any]:
    """One subscription."""
    return events.get_subscription(work.session, subscription_id, api_key_id=_owner(key))


@router.delete("/{subscription_id}", status_code=204)
def delete_webhook(subscription_id: Id, work: WorkDep, key: Researcher) -> Response:
    """Delete a subscription and its delivery log."""
    events.delete_subscription(work.session, subscription_id, api_key_id=_owner(key))
    work.touch("webhook", subscription_id)
    return Response(status_code=204)


@router.post("/{subscription_id}/ping", status_code=202, response_model=dict[str, Any])
def ping_webhook(subscription_id: Id, work: WorkDep, key: Researcher) -> dict[str, Any]:
    """Queue a signed ``ping`` event to the subscription (to check a receiver)."""
    delivery_id = events.ping(work.session, subscription_id, api_key_id=_owner(key))
    work.touch("webhook_delivery", delivery_id)
    return {"delivery_id": delivery_id}


@router.get("/{subscription_id}/deliveries", response_model=Page[DeliveryOut])
def list_deliveries(subscription_id: Id, work: WorkDep, key: Researcher, page: PageParams) -> dict[str, Any]:
    """The subscription's delivery log (status, attempts, latency), newest first."""
    items = events.list_deliveries(
        work.session, subscription_id, api_key_id=_owner(key), limit=page.limit, before=page.before
    )
    return {"items": items, "next_before": next_cursor(items, page)}
