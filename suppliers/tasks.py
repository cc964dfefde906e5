from celery import shared_task
from django.conf import settings

from phoneexport.queueing import wake_on_commit
from suppliers import manual, services, webhooks

# Set while a forwarding drain is queued: a burst of orders publishes one task, not one each.
FORWARDING_QUEUED_FLAG = "suppliers:forwarding-drain-queued"


@shared_task(acks_late=True, ignore_result=True)
def forward_supplier_order(supplier_order_id: int, probe: bool = False) -> None:
    services.forward_supplier_order(supplier_order_id=supplier_order_id, probe=probe)


@shared_task(acks_late=True, ignore_result=True)
def forward_due_supplier_orders() -> None:
    services.forward_due_supplier_orders()


def forward_after_commit() -> None:
    """Once the transaction commits, wake a forwarding drain unless one is queued: the order
    is due, and if the message is lost the sweeper wakes one."""
    wake_on_commit(forward_due_supplier_orders, flag=FORWARDING_QUEUED_FLAG,
                   seconds=settings.FORWARDING_WAKE_SECONDS)


@shared_task(ignore_result=True)
def sweep_supplier_orders() -> None:
    services.sweep_supplier_orders()


@shared_task(acks_late=True, ignore_result=True)
def process_webhook_event(event_id: int) -> None:
    webhooks.process_webhook_event(event_id=event_id)


@shared_task(acks_late=True, ignore_result=True)
def process_due_webhook_events() -> None:
    webhooks.process_due_webhook_events()


@shared_task(ignore_result=True)
def sweep_webhook_events() -> None:
    webhooks.sweep_webhook_events()


@shared_task(ignore_result=True)
def reconcile_supplier_orders() -> None:
    services.reconcile_supplier_orders()


@shared_task(acks_late=True, ignore_result=True)
def reconcile_supplier_order(supplier_order_id: int) -> None:
    services.reconcile_supplier_order(supplier_order_id=supplier_order_id)


@shared_task(ignore_result=True)
def alert_waiting_manual_orders() -> None:
    manual.alert_waiting_manual_orders()
