import socket

from celery import shared_task

from phoneexport import health


@shared_task(ignore_result=True)
def record_worker_heartbeat() -> None:
    health.record_worker_heartbeat(hostname=socket.gethostname())
