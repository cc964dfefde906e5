from celery import shared_task
from django.conf import settings

from inventory import services, stocklists

# A full feed of a large catalogue takes longer than the default task limits allow.
_SYNC_LIMITS = {"soft_time_limit": settings.INVENTORY_SYNC_SOFT_TIME_LIMIT,
                "time_limit": settings.INVENTORY_SYNC_TIME_LIMIT}


@shared_task(ignore_result=True, **_SYNC_LIMITS)
def sync_inventory_full() -> None:
    services.sync_suppliers(full=True)


@shared_task(ignore_result=True, **_SYNC_LIMITS)
def sync_inventory_delta() -> None:
    services.sync_suppliers(full=False)


@shared_task(ignore_result=True, **_SYNC_LIMITS)
def recompute_prices() -> None:
    services.recompute_prices()


@shared_task(ignore_result=True, **_SYNC_LIMITS)
def import_stock_lists() -> None:
    stocklists.import_watched_folder()
