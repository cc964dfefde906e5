from celery import shared_task

from notifications import client_webhooks, services


@shared_task(acks_late=True, ignore_result=True)
def send_notifications(notification_ids: list[int]) -> None:
    services.send_notifications(notification_ids=notification_ids)


@shared_task(acks_late=True, ignore_result=True)
def send_due_notifications() -> None:
    services.send_due_notifications()


@shared_task(ignore_result=True)
def sweep_notifications() -> None:
    services.sweep_notifications()


@shared_task(acks_late=True, ignore_result=True)
def deliver_client_webhooks(delivery_ids: list[int]) -> None:
    client_webhooks.deliver_client_webhooks(delivery_ids=delivery_ids)


@shared_task(ignore_result=True)
def sweep_client_webhooks() -> None:
    client_webhooks.sweep_client_webhooks()
