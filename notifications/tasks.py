from celery import shared_task

from notifications import services


@shared_task(acks_late=True, ignore_result=True)
def send_notification(notification_id: int) -> None:
    services.send_notification(notification_id=notification_id)


@shared_task(ignore_result=True)
def sweep_notifications() -> None:
    services.sweep_notifications()
