from celery import shared_task

from suppliers import services


@shared_task(acks_late=True, ignore_result=True)
def forward_supplier_order(supplier_order_id: int, probe: bool = False) -> None:
    services.forward_supplier_order(supplier_order_id=supplier_order_id, probe=probe)


@shared_task(ignore_result=True)
def sweep_supplier_orders() -> None:
    services.sweep_supplier_orders()
