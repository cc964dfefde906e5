"""Which adapter serves which supplier: `SUPPLIER_ADAPTERS` maps a slug to an adapter class."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from suppliers.adapters.base import SupplierAdapter

_adapters: dict[tuple[str, str], SupplierAdapter] = {}
_lock = threading.Lock()
# Per thread: adapters standing in for a supplier's own while a block runs (see substitute).
_substitutes = threading.local()


def get_adapter(slug: str, *, route: str | None = None) -> SupplierAdapter:
    """The adapter for supplier `slug`, on `route` (default `SUPPLIER_TRANSPORT`).

    Built once per process and route, so its pooled HTTP connections are reused.
    Raises ImproperlyConfigured for a slug that `SUPPLIER_ADAPTERS` does not know.
    """
    stand_in = getattr(_substitutes, "by_slug", {}).get(slug)
    if stand_in is not None:
        return stand_in
    key = (slug, route or settings.SUPPLIER_TRANSPORT)
    with _lock:
        if key not in _adapters:
            _adapters[key] = _adapter_class(slug).from_settings(route=key[1])
        return _adapters[key]


@contextmanager
def substitute(slug: str, adapter: SupplierAdapter) -> Iterator[SupplierAdapter]:
    """Within the block, this thread's get_adapter(slug) answers `adapter` on every route.

    How a supplier's feed is read from somewhere other than its API (a stock-list file)
    through the very services that read the API.
    """
    by_slug = getattr(_substitutes, "by_slug", None)
    if by_slug is None:
        by_slug = _substitutes.by_slug = {}
    previous = by_slug.get(slug)
    by_slug[slug] = adapter
    try:
        yield adapter
    finally:
        if previous is None:
            del by_slug[slug]
        else:
            by_slug[slug] = previous


def reset_adapters() -> None:
    """Forget the built adapters; the next get_adapter() reads the settings again."""
    with _lock:
        _adapters.clear()


def _adapter_class(slug: str) -> type[SupplierAdapter]:
    class_path = settings.SUPPLIER_ADAPTERS.get(slug)
    if class_path is None:
        known = ", ".join(sorted(settings.SUPPLIER_ADAPTERS)) or "none"
        raise ImproperlyConfigured(
            f"No adapter for supplier {slug!r} in SUPPLIER_ADAPTERS (known: {known}).")
    try:
        adapter_class = import_string(class_path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"SUPPLIER_ADAPTERS[{slug!r}] = {class_path!r} cannot be imported: {exc}") from exc
    if not (isinstance(adapter_class, type) and issubclass(adapter_class, SupplierAdapter)):
        raise ImproperlyConfigured(f"SUPPLIER_ADAPTERS[{slug!r}] is not a SupplierAdapter.")
    return adapter_class


@receiver(setting_changed)
def _reset_on_setting_change(**kwargs) -> None:
    # Adapters copy settings when built; tests that override settings need fresh ones.
    reset_adapters()
