import os

from celery import Celery
from celery.signals import beat_init, setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoneexport.settings")

app = Celery("phoneexport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["worker"].add(DjangoStructLogInitStep)
app.autodiscover_tasks()

# Beat's first run of an interval job comes one interval after start; the catalogue should
# not wait that long after a deploy or an outage (a first start syncs the full feed).
INVENTORY_CATCH_UP_DELAY_SECONDS = 10


@setup_logging.connect
def use_django_logging(**kwargs):
    """Keep Django's structured LOGGING in the worker instead of Celery's own format."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@beat_init.connect
def catch_up_inventory(**kwargs):
    app.send_task("inventory.tasks.sync_inventory_delta",
                  countdown=INVENTORY_CATCH_UP_DELAY_SECONDS)
