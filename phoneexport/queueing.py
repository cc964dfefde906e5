"""Enqueueing Celery tasks from services, after the transaction that made them necessary."""

from celery import Task
from django.db import transaction


def enqueue_on_commit(task: Task, *args, countdown: float | None = None, **kwargs) -> None:
    """Send the task once the current transaction commits, and only then.

    A broker outage at that moment is logged, not raised: the work is recorded in a row that
    a sweeper on beat enqueues again, and the caller's commit already happened.
    """
    transaction.on_commit(lambda: task.apply_async(args, kwargs, countdown=countdown),
                          robust=True)
