"""Supplier stock lists (XLSX or CSV exports) read into the inventory by the sync service.

A supplier without an API sends its stock as a spreadsheet: the whole list, or a daily file of
new stock and price drops. Its columns are mapped per supplier (`Supplier.stock_list_columns`)
onto the neutral InventoryItem; the rows then go through `sync_inventory` exactly as an API
feed would, with the file standing in for the supplier's adapter. A full list is a full feed
(its sync run, bad-row report and out-of-stock rules); a delta file is a delta feed and never
takes anything out of stock.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zipfile import BadZipFile

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import User
from inventory.errors import StockListUnreadable, SyncInProgress
from inventory.models import StockListImport
from inventory import services as inventory_services
from suppliers.adapters.base import (
    InventoryItem, InventoryPage, RejectedInventoryItem, SupplierAdapter, SupplierError,
)
from suppliers.adapters.registry import substitute
from suppliers.models import Supplier

logger = structlog.get_logger(__name__)

# Our field -> the headers a supplier export commonly uses for it (compared case-insensitively).
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "item", "item #", "item number", "part number"),
    "manufacturer": ("manufacturer", "brand", "make"),
    "model": ("model", "model name"),
    "storage": ("storage", "capacity", "storage (gb)", "gb"),
    "colour": ("colour", "color"),
    "grade": ("grade", "condition"),
    "carrier": ("carrier", "network", "lock status"),
    "warehouse": ("warehouse", "location", "warehouse code"),
    "quantity": ("quantity", "qty", "available", "stock"),
    "price": ("price", "unit price", "cost", "your price"),
    "currency": ("currency",),
}
# Fields a file may leave out: the value used then (a supplier's "defaults" may add more).
OPTIONAL_FIELDS = {"currency": "USD"}
MAX_RECORDED_BAD_ROWS = 1000
SUFFIXES = (".xlsx", ".csv")
_KIND_SEPARATOR = "--"
_STORAGE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(gb|tb)?\s*", re.IGNORECASE)
_PRICE_NOISE = re.compile(r"[\s$€£,]")


@dataclass(frozen=True)
class ParsedStockList:
    items: list[InventoryItem]
    rejected: list[RejectedInventoryItem]
    bad_rows: list[dict]  # {"row", "reason", "values"} for the report
    rows: int


# --- Reading the file --------------------------------------------------------------------
def read_table(*, content: bytes, filename: str) -> Iterator[tuple[int, list[str]]]:
    """(row number as the supplier sees it, cell texts) for every non-empty row, header first."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        yield from _read_xlsx(content)
    elif suffix == ".csv":
        yield from _read_csv(content)
    else:
        raise StockListUnreadable(_("Stock lists are XLSX or CSV files; %(name)s is neither.")
                                  % {"name": filename})


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_xlsx(content: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (BadZipFile, OSError, KeyError, ValueError) as exc:
        raise StockListUnreadable(_("The file is not a readable XLSX workbook.")) from exc
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(value) for value in values]
            if any(cells):
                yield number, cells
    finally:
        workbook.close()


def _read_csv(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        for cells in reader:
            cells = [cell.strip() for cell in cells]
            if any(cells):
                yield reader.line_num, cells
    except csv.Error as exc:
        raise StockListUnreadable(_("The CSV file is malformed: %(error)s") % {"error": exc}
                                  ) from exc


# --- Columns -----------------------------------------------------------------------------
def column_mapping(supplier: Supplier) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """Accepted headers per field, and values for fields the file may leave out."""
    configured = supplier.stock_list_columns if isinstance(supplier.stock_list_columns,
                                                           dict) else {}
    headers = dict(DEFAULT_COLUMNS)
    for field, header in configured.items():
        if field in DEFAULT_COLUMNS and isinstance(header, str) and header.strip():
            headers[field] = (header.strip().lower(),)
    defaults = dict(OPTIONAL_FIELDS)
    if isinstance(configured.get("defaults"), dict):
        defaults.update({field: str(value) for field, value in configured["defaults"].items()
                         if field in DEFAULT_COLUMNS})
    return headers, defaults


def validate_column_mapping(value: object) -> None:
    """Refuse a supplier's stock-list columns that name fields we do not read."""
    if not isinstance(value, dict):
        raise ValidationError(_("Give an object of field: column header."))
    problems = []
    for field, header in value.items():
        if field == "defaults":
            if not isinstance(header, dict) or set(header) - set(DEFAULT_COLUMNS):
                problems.append(_("\"defaults\" is an object whose keys are among: "
                                  "%(fields)s.") % {"fields": ", ".join(DEFAULT_COLUMNS)})
        elif field not in DEFAULT_COLUMNS:
            problems.append(_("Unknown field %(field)r; the fields are: %(fields)s.")
                            % {"field": field, "fields": ", ".join(DEFAULT_COLUMNS)})
        elif not isinstance(header, str) or not header.strip():
            problems.append(_("The header of %(field)s must be text.") % {"field": field})
    if problems:
        raise ValidationError(problems)


def _locate_columns(header: list[str], supplier: Supplier) -> tuple[dict[str, int],
                                                                     dict[str, str]]:
    accepted, defaults = column_mapping(supplier)
    positions = {text.lower(): index for index, text in reversed(list(enumerate(header)))}
    located, missing = {}, []
    for field, names in accepted.items():
        index = next((positions[name] for name in names if name in positions), None)
        if index is not None:
            located[field] = index
        elif field not in defaults:
            missing.append(field)
    if missing:
        raise StockListUnreadable(
            _("The first row lacks columns for: %(fields)s. Map them in the supplier's "
              "stock-list columns.") % {"fields": ", ".join(missing)},
            [{"field": field, "accepted_headers": list(accepted[field])} for field in missing])
    return located, defaults


# --- Rows into items ---------------------------------------------------------------------
def parse_stock_list(*, supplier: Supplier, content: bytes, filename: str,
                     exported_at: datetime) -> ParsedStockList:
    """Every row as an item, or as a bad row with its reason; a file without the needed
    columns raises StockListUnreadable before any row is used."""
    rows = read_table(content=content, filename=filename)
    first = next(rows, None)
    if first is None:
        raise StockListUnreadable(_("The file is empty."))
    header_number, header = first
    columns, defaults = _locate_columns(header, supplier)
    items, rejected, bad_rows = [], [], []
    seen_at: dict[str, int] = {}
    count = 0
    for number, cells in rows:
        count += 1
        values = {field: (cells[index] if index < len(cells) else "")
                  for field, index in columns.items()}
        item, reason = _to_item(values, defaults, exported_at)
        sku = values.get("sku", "")
        if reason is None and sku in seen_at:
            reason = _("the SKU already appears on row %(row)d") % {"row": seen_at[sku]}
        if reason is not None:
            rejected.append(RejectedInventoryItem(
                sku=sku, reason=_("row %(row)d: %(reason)s") % {"row": number, "reason": reason},
                raw=values))
            if len(bad_rows) < MAX_RECORDED_BAD_ROWS:
                bad_rows.append({"row": number, "reason": reason, "values": values})
            continue
        seen_at[sku] = number
        items.append(item)
    logger.info("stock_list_parsed", supplier=supplier.slug, filename=filename,
                header_row=header_number, rows=count, items=len(items), bad_rows=len(rejected))
    return ParsedStockList(items=items, rejected=rejected, bad_rows=bad_rows, rows=count)


def _to_item(values: Mapping[str, str], defaults: Mapping[str, str],
             exported_at: datetime) -> tuple[InventoryItem | None, str | None]:
    def value(field: str) -> str:
        return values.get(field) or defaults.get(field, "")

    storage = _STORAGE.fullmatch(value("storage"))
    if storage is None:
        return None, _("storage %(value)r is not a number of GB or TB") % {
            "value": value("storage")}
    gigabytes = Decimal(storage.group(1)) * (1024 if (storage.group(2) or "").lower() == "tb"
                                             else 1)
    quantity_text = value("quantity").replace(",", "")
    if not re.fullmatch(r"\d+", quantity_text):
        return None, _("quantity %(value)r is not a whole number of 0 or more") % {
            "value": value("quantity")}
    try:
        price = Decimal(_PRICE_NOISE.sub("", value("price")))
    except InvalidOperation:
        return None, _("malformed price %(value)r") % {"value": value("price")}
    item = InventoryItem(
        sku=value("sku"), manufacturer=value("manufacturer"), model=value("model"),
        storage_gb=int(gigabytes) if gigabytes == gigabytes.to_integral_value() else 0,
        colour=value("colour"), grade_code=value("grade"), carrier_code=value("carrier"),
        warehouse_code=value("warehouse"), quantity=int(quantity_text), unit_price=price,
        currency=value("currency").upper(), updated_at=exported_at)
    # The sync service checks every item again; checked here too, to report the row number.
    reason = inventory_services.invalid_item_reason(item)
    return (None, reason) if reason else (item, None)


# --- The file as the supplier's feed -----------------------------------------------------
class StockListFeed(SupplierAdapter):
    """A parsed stock list behind the adapter interface, for the sync service to read.

    Only the feed exists: the file says nothing about orders or webhooks.
    """

    slug = "stock-list"

    def __init__(self, parsed: ParsedStockList):
        self.parsed = parsed

    @classmethod
    def from_settings(cls, *, route: str | None = None):
        raise SupplierError("A stock list is built from a file, not from settings.")

    def iter_inventory(self, *, updated_since: datetime | None = None,
                       page_size: int = 500) -> Iterator[InventoryPage]:
        items, rejected = self.parsed.items, self.parsed.rejected
        # The bad rows come with the first page, so the run's report lists them.
        yield InventoryPage(items=tuple(items[:page_size]), rejected=tuple(rejected),
                            next_cursor=None if len(items) <= page_size else str(page_size))
        for start in range(page_size, len(items), page_size):
            end = start + page_size
            yield InventoryPage(items=tuple(items[start:end]), rejected=(),
                                next_cursor=str(end) if end < len(items) else None)

    def _no_orders(self, *args, **kwargs):
        raise SupplierError("A stock list holds no orders.")

    place_order = get_order = find_orders = cancel_order = _no_orders
    verify_webhook = parse_webhook = _no_orders


# --- Importing ---------------------------------------------------------------------------
def import_stock_list(*, supplier: Supplier, content: bytes, filename: str, delta: bool,
                      source: str, user: User | None = None,
                      exported_at: datetime | None = None) -> StockListImport:
    """Read a stock list into the inventory and record the import with its bad-row report.

    A full list is a full sync (what it does not list goes out of stock, within the removal
    limit); a delta list only adds and updates. An unreadable file is refused and recorded,
    and nothing is applied. Raises SyncInProgress (nothing recorded) while another sync of
    the supplier runs, so the file can be tried again.
    """
    exported_at = exported_at or timezone.now()
    kind = StockListImport.Kind.DELTA if delta else StockListImport.Kind.FULL
    record = StockListImport(supplier=supplier, kind=kind, filename=filename[:255],
                             source=source, uploaded_by=user)
    try:
        parsed = parse_stock_list(supplier=supplier, content=content, filename=filename,
                                  exported_at=exported_at)
    except StockListUnreadable as exc:
        record.status, record.error = StockListImport.Status.REFUSED, str(exc)
        record.bad_rows = exc.details
        record.save()
        logger.warning("stock_list_refused", supplier=supplier.slug, filename=filename,
                       error=str(exc))
        return record
    with substitute(supplier.slug, StockListFeed(parsed)):
        # A delta names its own start, or the service would read a first one as full.
        run = inventory_services.sync_inventory(supplier=supplier, full=not delta,
                                                since=exported_at if delta else None)
    record.sync_run = run
    record.rows = parsed.rows
    record.bad_rows = parsed.bad_rows
    record.bad_row_count = len(parsed.rejected)
    record.status = (StockListImport.Status.IMPORTED if run.status == run.Status.SUCCEEDED
                     else StockListImport.Status.FAILED)
    record.error = "\n".join(run.errors)
    record.save()
    logger.info("stock_list_imported", supplier=supplier.slug, filename=filename, kind=kind,
                sync_run=run.pk, items=len(parsed.items), bad_rows=record.bad_row_count)
    return record


def bad_rows_csv(record: StockListImport) -> str:
    """The bad-row report as CSV: row number, reason, then the values as read."""
    fields = list(DEFAULT_COLUMNS)
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow([_("row"), _("reason"), *fields])
    for bad in record.bad_rows:
        values = bad.get("values", {})
        writer.writerow([bad.get("row", ""), bad.get("reason", bad.get("field", "")),
                         *(values.get(field, "") for field in fields)])
    return output.getvalue()


# --- The watched folder ------------------------------------------------------------------
def import_watched_folder(*, folder: Path | None = None) -> list[StockListImport]:
    """Import every file dropped in `<folder>/<supplier slug>/full/` or `.../delta/`.

    Each file is first renamed into `processing/` (so two importers never read the same file),
    then moved to `done/` or, when refused or failed, to `failed/` beside a note of why. A file
    met while another sync of its supplier runs goes back to wait for the next pass, and so
    does one left in `processing/` by an importer that died.
    """
    folder = Path(folder or settings.STOCK_LIST_FOLDER)
    imports = []
    for supplier in Supplier.objects.filter(is_active=True).order_by("slug"):
        _take_back_abandoned(folder / supplier.slug)
        for kind in ("full", "delta"):
            incoming = folder / supplier.slug / kind
            if incoming.is_dir():
                for path in _stock_list_files(incoming):
                    record = _import_file(supplier=supplier, path=path, delta=kind == "delta")
                    if record is not None:
                        imports.append(record)
    return imports


def _stock_list_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir()
                  if path.is_file() and path.suffix.lower() in SUFFIXES)


def _take_back_abandoned(supplier_folder: Path) -> None:
    processing = supplier_folder / "processing"
    if not processing.is_dir():
        return
    # A rename sets the change time: a file claimed this long ago has no importer left.
    abandoned_before = time.time() - settings.INVENTORY_SYNC_LOCK_STALE_SECONDS
    for claimed in processing.iterdir():
        kind, _separator, name = claimed.name.partition(_KIND_SEPARATOR)
        if kind in ("full", "delta") and claimed.stat().st_ctime < abandoned_before:
            (supplier_folder / kind).mkdir(exist_ok=True)
            claimed.rename(supplier_folder / kind / name)
            logger.warning("stock_list_taken_back", supplier_folder=str(supplier_folder),
                           filename=name)


def _import_file(*, supplier: Supplier, path: Path, delta: bool) -> StockListImport | None:
    supplier_folder = path.parent.parent
    processing = supplier_folder / "processing"
    processing.mkdir(exist_ok=True)
    # The kind travels in the name, for a file taken back after its importer died.
    claimed = processing / f"{path.parent.name}{_KIND_SEPARATOR}{path.name}"
    try:
        path.rename(claimed)
    except FileNotFoundError:  # another importer took it
        return None
    exported_at = datetime.fromtimestamp(claimed.stat().st_mtime, tz=UTC)
    try:
        record = import_stock_list(supplier=supplier, content=claimed.read_bytes(),
                                   filename=path.name, delta=delta, source="folder",
                                   exported_at=exported_at)
    except SyncInProgress:
        claimed.rename(path)
        return None
    ok = record.status == StockListImport.Status.IMPORTED
    target = supplier_folder / ("done" if ok else "failed")
    target.mkdir(exist_ok=True)
    stamped = target / f"{timezone.now():%Y%m%dT%H%M%S}-{path.name}"
    claimed.rename(stamped)
    if not ok:
        stamped.with_name(stamped.name + ".error.txt").write_text(record.error + "\n")
    return record
