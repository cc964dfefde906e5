from celery import shared_task
from django.conf import settings

from notifications import client_webhooks, services
from phoneexport.queueing import wake_on_commit

# Set while a send drain is queued: a burst of events publishes one task, not one each.
SEND_QUEUED_FLAG = "notifications:send-drain-queued"


# Sends the notifications named; tasks queued before a deploy may still carry ids.
@shared_task(acks_late=True, ignore_result=True)
def send_notifications(notification_ids: list[int]) -> None:
    services.send_notifications(notification_ids=notification_ids)


@shared_task(acks_late=True, ignore_result=True)
def send_due_notifications() -> None:
    services.send_due_notifications()


def send_after_commit() -> None:
    """Once the transaction commits, wake a send drain unless one is queued: recorded rows
    are pending and due, and if the message is lost the sweeper sends them."""
    wake_on_commit(send_due_notifications, flag=SEND_QUEUED_FLAG,
                   seconds=settings.NOTIFICATION_WAKE_SECONDS)


@shared_task(ignore_result=True)
def sweep_notifications() -> None:
    services.sweep_notifications()


@shared_task(acks_late=True, ignore_result=True)
def deliver_client_webhooks(delivery_ids: list[int]) -> None:
    client_webhooks.deliver_client_webhooks(delivery_ids=delivery_ids)


@shared_task(ignore_result=True)
def sweep_client_webhooks() -> None:
    client_webhooks.sweep_client_webhooks()
