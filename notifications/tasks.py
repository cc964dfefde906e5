from celery import shared_task

from notifications import services


@shared_task(acks_late=True, ignore_result=True)
def send_notifications(notification_ids: list[int]) -> None:
    services.send_notifications(notification_ids=notification_ids)


@shared_task(ignore_result=True)
def sweep_notifications() -> None:
    services.sweep_notifications()
