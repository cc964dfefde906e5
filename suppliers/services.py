"""Forwarding orders to suppliers: exactly once, through crashes, outages and refusals.

A supplier-side order is claimed with a compare-and-set (no lock is held while the supplier is
called), sent with its idempotency key, and the answer recorded in a short transaction. The
claim time is the claim's token: a worker that comes back after its claim was taken over
records nothing. Every wait lives in the database (`next_attempt_at`), where the sweeper finds
it after a lost enqueue, a broker restart or a killed worker.

Placed orders are sent by drains (`forward_due_supplier_orders`): each claims a batch of due
orders, sends them to the supplier at the same time and records their acceptances in one
transaction, which costs far less per order than a task, a claim and a transaction each.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import services as notifications
from orders import services as order_services
from orders.errors import OrderError
from orders.models import Order, OrderEvent
from orders.states import OPEN_STATUSES, OrderStatus, can_transition
from phoneexport.db import batched_inserts
from phoneexport.memo import batch_memo
from phoneexport.queueing import drain_batches, enqueue_on_commit, wake
from suppliers import tasks as supplier_tasks
from suppliers.adapters import get_adapter
from suppliers.adapters.base import (
    Address, OrderLineRequest, PlaceOrderRequest, RejectionCode, SupplierAuthError,
    SupplierError, SupplierOrderInfo, SupplierRejectedError, TransientSupplierError,
)
from suppliers.models import Supplier, SupplierOrder

logger = structlog.get_logger(__name__)

State = SupplierOrder.ForwardingState
SWEEP_BATCH = 500
FORWARDING_DRAINS = "suppliers:forwarding-drains"


@dataclass(frozen=True)
class Claim:
    supplier_order: SupplierOrder
    claimed_at: datetime


def supplier_actor(supplier: Supplier) -> order_services.Actor:
    return order_services.Actor(label=f"supplier:{supplier.slug}")


# --- Forwarding one order ------------------------------------------------------------------
def forward_supplier_order(*, supplier_order_id: int, probe: bool = False) -> None:
    """Send one order to its supplier if it is due and nobody else is sending it.

    `probe` lets one order through to a supplier whose forwarding is paused, to find out
    whether its credentials work again.
    """
    claim = _claim(supplier_order_id=supplier_order_id, probe=probe)
    if claim is None:
        return
    supplier_order = claim.supplier_order
    adapter = get_adapter(supplier_order.supplier.slug,
                          route=supplier_order.supplier.effective_route)
    answer = _call_supplier(adapter=adapter, claim=claim,
                            request=_place_order_request(supplier_order.order))
    with structlog.contextvars.bound_contextvars(order_number=supplier_order.order.number):
        if isinstance(answer, SupplierOrderInfo):
            _record_acceptance(claim=claim, info=answer)
        else:
            _record_failure(claim=claim, error=answer)


def _due(now: datetime) -> Q:
    return Q(forwarding_state=State.PENDING) & (Q(next_attempt_at__isnull=True)
                                                | Q(next_attempt_at__lte=now))


def _claim_fields(now: datetime) -> dict:
    return {"forwarding_state": State.IN_FLIGHT, "claimed_at": now,
            "attempts": F("attempts") + 1, "last_attempted_at": now,
            "first_attempted_at": Coalesce("first_attempted_at", now)}


def _claim(*, supplier_order_id: int, probe: bool) -> Claim | None:
    now = timezone.now()
    due = _due(now)
    if not probe:
        due &= Q(supplier__forwarding_paused_at__isnull=True)
    claimed = SupplierOrder.objects.filter(due, pk=supplier_order_id).update(
        **_claim_fields(now))
    if not claimed:
        return None
    supplier_order = SupplierOrder.objects.select_related("order", "supplier").get(
        pk=supplier_order_id)
    return Claim(supplier_order=supplier_order, claimed_at=now)


def _call_supplier(*, adapter, claim: Claim,
                   request: PlaceOrderRequest) -> SupplierOrderInfo | SupplierError:
    """The supplier's answer: its order, or the error that stands for its refusal or silence.

    Touches no database: a batch's calls run in threads of their own.
    """
    with structlog.contextvars.bound_contextvars(order_number=request.reference):
        try:
            return _place_or_find(adapter=adapter, supplier_order=claim.supplier_order,
                                  request=request)
        except SupplierError as exc:
            return exc


def _record_failure(*, claim: Claim, error: SupplierError) -> None:
    if isinstance(error, TransientSupplierError):
        _record_transient_failure(claim=claim, error=error)
    elif isinstance(error, SupplierRejectedError):
        _record_rejection(claim=claim, error=error)
    elif isinstance(error, SupplierAuthError):
        _record_auth_failure(claim=claim, error=error)
    else:  # an answer the taxonomy does not expect: try again later
        _record_transient_failure(claim=claim, error=TransientSupplierError(error.message))


def _place_or_find(*, adapter, supplier_order: SupplierOrder,
                   request: PlaceOrderRequest) -> SupplierOrderInfo:
    """Place the order; after a long silence, first ask whether an earlier call landed."""
    waited = timezone.now() - supplier_order.first_attempted_at
    if supplier_order.attempts > 1 and waited.total_seconds() >= \
            settings.FORWARDING_LOOKUP_AFTER_SECONDS:
        found = adapter.find_orders(request.reference)
        if found:
            return max(found, key=lambda info: info.version)
    return adapter.place_order(request, idempotency_key=supplier_order.idempotency_key)


def _place_order_request(order: Order) -> PlaceOrderRequest:
    return PlaceOrderRequest(
        reference=order.number,
        ship_to=Address(**{field: order.ship_to.get(field, "")
                           for field in order_services.SHIP_TO_FIELDS}),
        lines=tuple(OrderLineRequest(sku=line.supplier_sku, quantity=line.quantity,
                                     unit_price=line.unit_cost) for line in order.lines.all()),
        shipping_method=order.shipping_method,
        notes=order.notes,
    )


def _locked_claim(claim: Claim) -> SupplierOrder | None:
    """The claimed row and its order, locked, or None if the claim was taken over meanwhile."""
    return order_services.lock_supplier_order(SupplierOrder.objects.filter(
        pk=claim.supplier_order.pk, forwarding_state=State.IN_FLIGHT,
        claimed_at=claim.claimed_at))


def _record_acceptance(*, claim: Claim, info: SupplierOrderInfo) -> None:
    with transaction.atomic():
        supplier_order = _locked_claim(claim)
        if supplier_order is None:
            # Taken over meanwhile; the same idempotency key makes the other call agree.
            return
        _accept(supplier_order=supplier_order, info=info)
    if claim.supplier_order.supplier.forwarding_paused_at is not None:
        resume_forwarding(supplier=claim.supplier_order.supplier)


def _accept(*, supplier_order: SupplierOrder, info: SupplierOrderInfo) -> None:
    """Record the supplier's acceptance on the locked, claimed row and its order."""
    supplier_order.forwarding_state = State.FORWARDED
    supplier_order.forwarded_at = timezone.now()
    supplier_order.claimed_at = None
    supplier_order.next_attempt_at = None
    supplier_order.last_error = supplier_order.last_error_code = ""
    actor = supplier_actor(supplier_order.supplier)
    order_services.record_event(
        order=supplier_order.order, kind=OrderEvent.Kind.ACTION, actor=actor,
        payload={"supplier_order_id": info.supplier_order_id, "replayed": info.replayed,
                 "attempts": supplier_order.attempts},
        message=_("Accepted by %(supplier)s as %(id)s after %(attempts)d attempt(s).")
        % {"supplier": supplier_order.supplier.name, "id": info.supplier_order_id,
           "attempts": supplier_order.attempts})
    # An answer older than what a webhook already brought only sets the supplier id.
    order_services.apply_locked_supplier_update(
        supplier_order=supplier_order, info=info, actor=actor,
        changed_fields=["forwarding_state", "forwarded_at", "claimed_at",
                        "next_attempt_at", "last_error", "last_error_code"])
    logger.info("order_forwarded", order_number=supplier_order.order.number,
                supplier_order_id=info.supplier_order_id, replayed=info.replayed,
                attempts=supplier_order.attempts)


# --- Forwarding due orders in batches --------------------------------------------------------
def forward_due_supplier_orders(*, limit: int | None = None) -> int:
    """Forward due orders in batches until none is left (or for FORWARDING_DRAIN_SECONDS);
    returns how many were claimed.

    Each order goes through what `forward_supplier_order` does, but a batch's orders are
    claimed together, sent at the same time, and their acceptances recorded in one
    transaction (`_record_acceptances`); a refusal or a failure is recorded on its own. Each
    full batch first wakes another drain, so that drains share a backlog, up to
    FORWARDING_DRAINS_PER_WORKER in each worker process; one woken beyond that returns at
    once, its orders left to those at work.
    """
    return drain_batches(
        flag=supplier_tasks.FORWARDING_QUEUED_FLAG, slots_name=FORWARDING_DRAINS,
        slots=settings.FORWARDING_DRAINS_PER_WORKER, batch=limit or settings.FORWARDING_BATCH,
        seconds=settings.FORWARDING_DRAIN_SECONDS,
        claim=lambda batch: _claim_due(limit=batch), process=_forward_claimed,
        wake_another=_wake_drain, any_due=lambda: _due_for_drains(timezone.now()).exists())


def _wake_drain() -> None:
    wake(supplier_tasks.forward_due_supplier_orders, flag=supplier_tasks.FORWARDING_QUEUED_FLAG,
         seconds=settings.FORWARDING_WAKE_SECONDS)


def _due_for_drains(now: datetime):
    return SupplierOrder.objects.filter(_due(now), supplier__forwarding_paused_at__isnull=True)


def _claim_due(*, limit: int) -> list[Claim]:
    """Claim up to `limit` due orders that no other drain is claiming, longest waiting first."""
    now = timezone.now()
    with transaction.atomic():
        # Only the order rows are locked: a lock on their supplier's row would make every
        # other drain skip all of that supplier's orders.
        supplier_order_ids = list(
            _due_for_drains(now).order_by("next_attempt_at")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:limit])
        SupplierOrder.objects.filter(pk__in=supplier_order_ids).update(**_claim_fields(now))
    supplier_orders = (SupplierOrder.objects.filter(pk__in=supplier_order_ids)
                       .select_related("order", "supplier").prefetch_related("order__lines")
                       .order_by("pk"))
    return [Claim(supplier_order=supplier_order, claimed_at=now)
            for supplier_order in supplier_orders]


def _forward_claimed(claims: list[Claim]) -> None:
    """Send the claimed orders at the same time, then record what the supplier answered."""
    if not claims:
        return
    calls = [{"adapter": get_adapter(claim.supplier_order.supplier.slug,
                                     route=claim.supplier_order.supplier.effective_route),
              "claim": claim, "request": _place_order_request(claim.supplier_order.order)}
             for claim in claims]
    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="forwarding") as pool:
        answers = list(pool.map(lambda call: _call_supplier(**call), calls))
    _record_acceptances([(claim, answer) for claim, answer in zip(claims, answers)
                         if isinstance(answer, SupplierOrderInfo)])
    for claim, answer in zip(claims, answers):
        if isinstance(answer, SupplierError):
            with structlog.contextvars.bound_contextvars(
                    order_number=claim.supplier_order.order.number):
                _record_failure(claim=claim, error=answer)


def _record_acceptances(accepted: list[tuple[Claim, SupplierOrderInfo]]) -> None:
    """Record acceptances in one transaction: the claimed rows and their orders locked in one
    read, the timeline entries written in one statement (`batched_inserts`), and each
    company's recipients and endpoints read once (`batch_memo`).

    A batch that fails (one acceptance failed, or a deadlock) writes nothing, and each
    acceptance is recorded again in a transaction of its own, so only a failing one fails:
    its order stays claimed, the sweeper takes the claim back, and the order is sent again
    with the same idempotency key, which the supplier answers with the order it already has.
    """
    if not accepted:
        return
    try:
        with batch_memo(), transaction.atomic(), batched_inserts():
            # One batch, one claim time: a row claimed since by someone else is not matched.
            locked = {supplier_order.pk: supplier_order
                      for supplier_order in order_services.lock_supplier_orders(
                          SupplierOrder.objects.filter(
                              pk__in=[claim.supplier_order.pk for claim, _info in accepted],
                              forwarding_state=State.IN_FLIGHT,
                              claimed_at=accepted[0][0].claimed_at))}
            for claim, info in accepted:
                # A claim taken over meanwhile is not there; the same key makes the other
                # call agree.
                if supplier_order := locked.get(claim.supplier_order.pk):
                    _accept(supplier_order=supplier_order, info=info)
    except Exception:
        logger.exception("forwarding_batch_failed", orders=len(accepted))
        for claim, info in accepted:
            with structlog.contextvars.bound_contextvars(
                    order_number=claim.supplier_order.order.number):
                try:
                    _record_acceptance(claim=claim, info=info)
                except Exception:
                    logger.exception("order_acceptance_not_recorded")


def retry_delay(*, attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, but never sooner than the supplier asked."""
    ceiling = min(settings.FORWARDING_RETRY_CAP_SECONDS,
                  settings.FORWARDING_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    delay = random.uniform(0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.FORWARDING_DEADLINE_SECONDS))
    return delay


def _record_transient_failure(*, claim: Claim, error: TransientSupplierError) -> None:
    now = timezone.now()
    with transaction.atomic():
        supplier_order = _locked_claim(claim)
        if supplier_order is None:
            return
        supplier_order.claimed_at = None
        supplier_order.last_error = error.message
        supplier_order.last_error_code = "transient"
        waited = (now - supplier_order.first_attempted_at).total_seconds()
        if waited >= settings.FORWARDING_DEADLINE_SECONDS:
            supplier_order.forwarding_state = State.NEEDS_ATTENTION
            supplier_order.next_attempt_at = None
            supplier_order.save()
            _needs_attention(supplier_order=supplier_order, payload={"error": error.message},
                             reason=_("The supplier has not accepted this order after "
                                      "%(attempts)d attempts: %(error)s")
                             % {"attempts": supplier_order.attempts, "error": error.message})
            return
        delay = retry_delay(attempts=supplier_order.attempts, retry_after=error.retry_after)
        supplier_order.forwarding_state = State.PENDING
        supplier_order.next_attempt_at = now + timedelta(seconds=delay)
        supplier_order.save()
        if delay <= settings.RETRY_COUNTDOWN_MAX_SECONDS:
            enqueue_on_commit(supplier_tasks.forward_supplier_order, supplier_order.pk,
                              countdown=delay)
    logger.warning("order_forwarding_retry", error=error.message, delay=round(delay, 3),
                   attempts=supplier_order.attempts, retry_after=error.retry_after)


def _record_rejection(*, claim: Claim, error: SupplierRejectedError) -> None:
    with transaction.atomic():
        supplier_order = _locked_claim(claim)
        if supplier_order is None:
            return
        supplier_order.claimed_at = None
        supplier_order.last_error = error.message
        supplier_order.last_error_code = error.code
        details = [{"sku": detail.sku, "available": detail.available,
                    "unit_price": None if detail.unit_price is None else str(detail.unit_price)}
                   for detail in error.details]
        if error.code == RejectionCode.PRICE_CHANGED and _resend_at_new_cost(
                supplier_order=supplier_order, error=error):
            return
        if error.code in {RejectionCode.PRICE_CHANGED, RejectionCode.INSUFFICIENT_STOCK,
                          RejectionCode.IDEMPOTENCY_CONFLICT}:
            # Staff can do better than a rejection: re-send what can be filled, or cancel.
            supplier_order.forwarding_state = State.NEEDS_ATTENTION
            supplier_order.save()
            _needs_attention(supplier_order=supplier_order,
                             payload={"code": error.code, "details": details,
                                      "lines": _line_costs(supplier_order.order)},
                             reason=_("The supplier refused the order (%(code)s): %(message)s")
                             % {"code": error.code, "message": error.message})
            return
        supplier_order.forwarding_state = State.REJECTED
        supplier_order.save()
        order = Order.objects.select_for_update().get(pk=supplier_order.order_id)
        if can_transition(order.status, OrderStatus.REJECTED):
            order_services.change_status(
                order=order, to_status=OrderStatus.REJECTED,
                actor=supplier_actor(supplier_order.supplier), reason=error.message,
                payload={"code": error.code, "details": details})
            order_services.release_stock(order=order)
    logger.warning("order_rejected_by_supplier", code=error.code, error=error.message)


def _line_costs(order: Order) -> list[dict]:
    return [{"sku": line.supplier_sku, "quantity": line.quantity,
             "unit_price": str(line.unit_price), "unit_cost": str(line.unit_cost)}
            for line in order.lines.all()]


def _resend_at_new_cost(*, supplier_order: SupplierOrder, error: SupplierRejectedError) -> bool:
    """Accept the supplier's new cost when our margin stays above the floor: a new revision."""
    new_costs = {detail.sku: detail.unit_price for detail in error.details
                 if detail.unit_price is not None}
    if not new_costs:
        return False
    order = Order.objects.select_for_update().get(pk=supplier_order.order_id)
    lines = list(order.lines.all())
    new_cost_total = sum((new_costs.get(line.supplier_sku, line.unit_cost) * line.quantity
                          for line in lines), Decimal("0"))
    if order.total <= 0 or (order.total - new_cost_total) * 100 / order.total < \
            settings.FORWARDING_MIN_MARGIN_PERCENT:
        return False
    old = _line_costs(order)
    for line in lines:
        if line.supplier_sku in new_costs:
            line.unit_cost = new_costs[line.supplier_sku]
            line.save(update_fields=["unit_cost"])
    order.cost_total = new_cost_total
    order.save(update_fields=["cost_total", "updated_at"])
    supplier_order.revision += 1
    supplier_order.idempotency_key = order_services.idempotency_key_for(order,
                                                                        supplier_order.revision)
    supplier_order.forwarding_state = State.PENDING
    supplier_order.next_attempt_at = timezone.now()
    supplier_order.save()
    order_services.record_event(
        order=order, kind=OrderEvent.Kind.ACTION, actor=order_services.SYSTEM,
        payload={"old": old, "new": _line_costs(order), "revision": supplier_order.revision},
        message=_("The supplier's cost changed; re-sent at the new cost (revision %(revision)d).")
        % {"revision": supplier_order.revision})
    enqueue_on_commit(supplier_tasks.forward_supplier_order, supplier_order.pk)
    return True


def _record_auth_failure(*, claim: Claim, error: SupplierAuthError) -> None:
    """Pause the supplier; the attempt does not count, since the order was never at fault."""
    now = timezone.now()
    with transaction.atomic():
        supplier_order = _locked_claim(claim)
        if supplier_order is None:
            return
        supplier_order.forwarding_state = State.PENDING
        supplier_order.claimed_at = None
        supplier_order.attempts = F("attempts") - 1
        supplier_order.next_attempt_at = now
        supplier_order.last_error = error.message
        supplier_order.last_error_code = "auth"
        supplier_order.save()
        newly_paused = Supplier.objects.filter(
            pk=supplier_order.supplier_id, forwarding_paused_at__isnull=True).update(
            forwarding_paused_at=now, forwarding_paused_reason=error.message)
        if newly_paused:
            supplier = supplier_order.supplier
            notifications.alert_staff(
                kind=notifications.AlertKind.SUPPLIER_AUTH_FAILURE,
                dedup_key=f"{supplier.slug}:{now.isoformat()}",
                subject=_("Forwarding to %(supplier)s is paused: credentials refused")
                % {"supplier": supplier.name},
                message=_("%(supplier)s refused our credentials or configuration: %(error)s. "
                          "Orders wait and are sent once it accepts them again.")
                % {"supplier": supplier.name, "error": error.message})
        else:  # a failed probe: wait a full probe interval again
            Supplier.objects.filter(pk=supplier_order.supplier_id).update(
                forwarding_paused_at=now)
    logger.error("supplier_forwarding_paused", supplier=claim.supplier_order.supplier.slug,
                 error=error.message)


def resume_forwarding(*, supplier: Supplier) -> None:
    """Lift a pause: every order due for the supplier goes out at the next sweep."""
    Supplier.objects.filter(pk=supplier.pk).update(forwarding_paused_at=None,
                                                   forwarding_paused_reason="")
    logger.info("supplier_forwarding_resumed", supplier=supplier.slug)


def _needs_attention(*, supplier_order: SupplierOrder, reason: str, payload: dict) -> None:
    order = Order.objects.select_for_update().get(pk=supplier_order.order_id)
    if can_transition(order.status, OrderStatus.NEEDS_ATTENTION):
        order_services.change_status(order=order, to_status=OrderStatus.NEEDS_ATTENTION,
                                     reason=reason, payload=payload)


# --- Staff actions -------------------------------------------------------------------------
def resend_now(*, supplier_order: SupplierOrder, actor: order_services.Actor) -> None:
    """Send again at once: after a needs-attention wait, or to skip a long backoff."""
    with transaction.atomic():
        locked = SupplierOrder.objects.select_for_update().get(pk=supplier_order.pk)
        if locked.forwarding_state not in {State.PENDING, State.NEEDS_ATTENTION}:
            raise OrderError(
                _("Only orders waiting to be sent or needing attention can be re-sent."))
        order = Order.objects.select_for_update().get(pk=locked.order_id)
        if locked.forwarding_state == State.NEEDS_ATTENTION:
            # A fresh deadline: the staff member has decided to try again.
            locked.first_attempted_at = None
            if order.status == OrderStatus.NEEDS_ATTENTION:
                order_services.change_status(order=order, to_status=OrderStatus.PLACED,
                                             actor=actor, reason=_("Re-sent by staff."))
        locked.forwarding_state = State.PENDING
        locked.next_attempt_at = timezone.now()
        locked.save()
        order_services.record_event(order=order, kind=OrderEvent.Kind.ACTION, actor=actor,
                                    message=_("Re-send requested."))
        enqueue_on_commit(supplier_tasks.forward_supplier_order, locked.pk)


def refresh_from_supplier(*, supplier_order: SupplierOrder, actor: order_services.Actor) -> bool:
    """Read the order from the supplier and apply it if newer; True when something changed."""
    if not supplier_order.supplier_order_id:
        raise OrderError(_("The supplier has not accepted this order yet."))
    adapter = get_adapter(supplier_order.supplier.slug,
                          route=supplier_order.supplier.effective_route)
    info = adapter.get_order(supplier_order.supplier_order_id)
    return order_services.apply_supplier_update(supplier_order_id=supplier_order.pk, info=info,
                                                actor=actor)


# --- The sweeper ---------------------------------------------------------------------------
def sweep_supplier_orders() -> int:
    """Wake drains for the orders due for an attempt and not in flight; take back dead
    claims.

    Covers an enqueue lost after commit, a broker that lost its queue, and a worker killed
    mid-call. Returns how many orders are due.
    """
    now = timezone.now()
    abandoned_before = now - timedelta(seconds=settings.FORWARDING_CLAIM_TIMEOUT_SECONDS)
    taken_back = SupplierOrder.objects.filter(
        forwarding_state=State.IN_FLIGHT, claimed_at__lt=abandoned_before).update(
        forwarding_state=State.PENDING, claimed_at=None, next_attempt_at=now)
    if taken_back:
        logger.warning("forwarding_claims_taken_back", count=taken_back)
    due = _due_for_drains(now).count()
    # Not through the wake flag: after a broker restart, it may say a drain is queued when
    # none is.
    for _batch in range(0, min(due, SWEEP_BATCH), settings.FORWARDING_BATCH):
        supplier_tasks.forward_due_supplier_orders.delay()
    probe_before = now - timedelta(seconds=settings.FORWARDING_PAUSE_PROBE_SECONDS)
    for supplier in Supplier.objects.filter(forwarding_paused_at__lte=probe_before):
        probe = SupplierOrder.objects.filter(
            supplier=supplier, forwarding_state=State.PENDING).order_by("next_attempt_at").first()
        if probe is not None:
            supplier_tasks.forward_supplier_order.delay(probe.pk, probe=True)
    return due


# --- Reconciliation ------------------------------------------------------------------------
def reconcile_supplier_orders() -> int:
    """Queue a read of every open order the supplier has not told us about for a while.

    Webhooks can be lost for good; the supplier's API is the source of truth that closes the gap.
    """
    stale_before = timezone.now() - timedelta(seconds=settings.RECONCILE_AFTER_SECONDS)
    stale = list(SupplierOrder.objects.filter(
        Q(last_synced_at__isnull=True) | Q(last_synced_at__lt=stale_before),
        forwarding_state=State.FORWARDED, order__status__in=OPEN_STATUSES,
        supplier__forwarding_paused_at__isnull=True,
    ).order_by("last_synced_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    for supplier_order_id in stale:
        supplier_tasks.reconcile_supplier_order.delay(supplier_order_id)
    return len(stale)


def reconcile_supplier_order(*, supplier_order_id: int) -> None:
    supplier_order = SupplierOrder.objects.select_related("supplier", "order").get(
        pk=supplier_order_id)
    with structlog.contextvars.bound_contextvars(order_number=supplier_order.order.number):
        try:
            changed = refresh_from_supplier(supplier_order=supplier_order,
                                            actor=supplier_actor(supplier_order.supplier))
        except SupplierError as exc:
            logger.warning("reconciliation_failed", error=exc.message)
            return
        # Checked now, even when nothing changed, so the order waits a full period again.
        SupplierOrder.objects.filter(pk=supplier_order_id).update(last_synced_at=timezone.now())
        if changed:
            logger.info("reconciliation_recovered_update")
