"""Reads for suppliers."""

import time

from django.conf import settings

from suppliers.models import Supplier

# slug -> (monotonic expiry, supplier); only suppliers that exist, so its size stays bounded
# whatever slugs strangers post to.
_webhook_suppliers: dict[str, tuple[float, Supplier]] = {}


def webhook_supplier(*, slug: str) -> Supplier | None:
    """The active supplier whose webhooks arrive at `slug`, or None.

    Every webhook asks and the row changes rarely: the process keeps it for
    WEBHOOK_SUPPLIER_CACHE_SECONDS. Readers only read it, so threads may share it.
    """
    now = time.monotonic()
    cached = _webhook_suppliers.get(slug)
    if cached is not None and cached[0] > now:
        return cached[1]
    supplier = Supplier.objects.filter(slug=slug, is_active=True).first()
    if supplier is None:
        _webhook_suppliers.pop(slug, None)
    else:
        _webhook_suppliers[slug] = (now + settings.WEBHOOK_SUPPLIER_CACHE_SECONDS, supplier)
    return supplier
