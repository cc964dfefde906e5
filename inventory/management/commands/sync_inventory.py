"""Sync inventory and prices from the supplier's feed now, with a progress bar."""

import time
from argparse import ArgumentTypeError
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from inventory import services
from inventory.errors import SyncInProgress
from inventory.models import SyncRun
from suppliers.models import Supplier

COUNT_FIELDS = ("pages", "items_seen", "items_created", "items_updated", "items_out_of_stock",
                "items_rejected", "items_unmapped", "products_created", "prices_changed",
                "cost_changes_flagged", "held_removals")


class Command(BaseCommand):
    help = ("Sync inventory and prices from the supplier's feed: the changes since the last "
            "successful sync (a full sync if there was none), everything with --full, or the "
            "changes since a time with --since.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true",
                            help="read the whole catalogue; absent items go out of stock")
        parser.add_argument("--since", type=_aware_time, metavar="TIME",
                            help="changes since this time (ISO 8601, UTC unless it says)")
        parser.add_argument("--supplier", metavar="SLUG",
                            help="one supplier (default: every active one with an adapter)")
        parser.add_argument("--page-size", type=int, metavar="N",
                            help=f"items per page (default {settings.INVENTORY_SYNC_PAGE_SIZE})")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["full"] and options["since"]:
            raise CommandError(_("--full reads everything: it takes no --since."))
        suppliers = Supplier.objects.filter(is_active=True, slug__in=settings.SUPPLIER_ADAPTERS)
        if options["supplier"]:
            suppliers = suppliers.filter(slug=options["supplier"])
        if not suppliers:
            raise CommandError(_("No active supplier with an adapter matches."))
        failed = []
        for supplier in suppliers:
            bar = ProgressBar(self.stdout)
            try:
                run = services.sync_inventory(supplier=supplier, full=options["full"],
                                              since=options["since"],
                                              page_size=options["page_size"],
                                              on_progress=bar.update)
            except SyncInProgress as exc:
                raise CommandError(str(exc)) from None
            finally:
                bar.finish()
            self._report(supplier, run)
            if run.status != SyncRun.Status.SUCCEEDED:
                failed.append(supplier.name)
        if failed:
            raise CommandError(_("The sync failed for %(suppliers)s.") % {
                "suppliers": ", ".join(failed)})

    def _report(self, supplier: Supplier, run: SyncRun) -> None:
        style = self.style.SUCCESS if run.status == SyncRun.Status.SUCCEEDED else self.style.ERROR
        self.stdout.write(style(_("%(supplier)s, sync run %(run)d (%(kind)s): %(status)s in "
                                  "%(seconds).1f s") % {
            "supplier": supplier.name, "run": run.pk, "kind": run.get_kind_display(),
            "status": run.get_status_display(),
            "seconds": run.duration.total_seconds() if run.duration else 0}))
        labels = [str(SyncRun._meta.get_field(name).verbose_name) for name in COUNT_FIELDS]
        width = max(len(label) for label in labels)
        for label, name in zip(labels, COUNT_FIELDS):
            self.stdout.write(f"  {label.ljust(width)}  {getattr(run, name):>9,}")
        if run.removals_status == SyncRun.Removals.HELD:
            self.stdout.write(self.style.WARNING(_(
                "Removals held: confirm or discard them in admin (sync runs).")))
        for error in run.errors:
            self.stdout.write(self.style.ERROR(f"  {error}"))
        for rejection in run.rejections[:20]:
            self.stdout.write(f"  {_('rejected')} {rejection['sku'] or '?'}: "
                              f"{rejection['reason']}")


class ProgressBar:
    """Redrawn in place on a terminal; elsewhere a line every few seconds."""

    WIDTH = 30
    LINE_EVERY_SECONDS = 5.0

    def __init__(self, out: OutputWrapper):
        self.out = out
        self.on_terminal = out.isatty()
        self.drawn = False
        self.last_line_at = time.monotonic()

    def update(self, run: SyncRun) -> None:
        text = _("page %(pages)d: %(items)s items, %(created)s new, %(updated)s updated, "
                 "%(rejected)s rejected") % {
            "pages": run.pages, "items": f"{run.items_seen:,}",
            "created": f"{run.items_created:,}", "updated": f"{run.items_updated:,}",
            "rejected": f"{run.items_rejected:,}"}
        if run.expected_items:
            done = min(run.items_seen / run.expected_items, 1.0)
            filled = round(done * self.WIDTH)
            text = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:4.0%}  {text}"
        if self.on_terminal:
            self.out.write(f"\r{text}\033[K", ending="")
            self.out.flush()
            self.drawn = True
        elif time.monotonic() - self.last_line_at >= self.LINE_EVERY_SECONDS:
            self.out.write(text)
            self.last_line_at = time.monotonic()

    def finish(self) -> None:
        if self.drawn:
            self.out.write("")


def _aware_time(text: str) -> datetime:
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise ArgumentTypeError(_("%(text)r is not a time like 2026-11-24T15:04:05Z.") % {
            "text": text})
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
