from celery import shared_task

from suppliers import manual, services, webhooks


@shared_task(acks_late=True, ignore_result=True)
def forward_supplier_order(supplier_order_id: int, probe: bool = False) -> None:
    services.forward_supplier_order(supplier_order_id=supplier_order_id, probe=probe)


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
