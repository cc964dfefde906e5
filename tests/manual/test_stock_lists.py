"""Supplier stock lists read into the inventory through the sync service."""

import csv
import io
import os
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from inventory import stocklists
from inventory.models import Product, StockListImport, SupplierOffer, SyncRun
from suppliers.models import Supplier

pytestmark = pytest.mark.django_db
HEADER = ["SKU", "Manufacturer", "Model", "Storage", "Colour", "Grade", "Carrier", "Warehouse",
          "Qty", "Price", "Currency"]


def row(number: int, *, quantity: int = 5, price: str = "300.00") -> list:
    return [f"SL-{number:05d}", "Apple", "iPhone 12", "128GB", "Blue", "A", "Unlocked",
            "wsc-direct", quantity, price, "USD"]


def xlsx(rows: list[list], header=HEADER) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(header)
    for values in rows:
        sheet.append(values)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def csv_bytes(rows: list[list], header=HEADER) -> bytes:
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(header)
    writer.writerows(rows)
    return output.getvalue().encode()


@pytest.fixture
def supplier(db):
    return Supplier.objects.get(slug="wesellcellular")


def import_list(supplier, content, *, filename="stock.xlsx", delta=False):
    return stocklists.import_stock_list(supplier=supplier, content=content, filename=filename,
                                        delta=delta, source="upload")


def quantities(supplier) -> dict[str, int]:
    return dict(SupplierOffer.objects.filter(supplier=supplier)
                .values_list("supplier_sku", "quantity"))


def test_a_ten_thousand_row_xlsx_with_bad_rows_imports_with_a_report(supplier):
    rows = [row(number) for number in range(10_000)]
    rows[10][0] = ""  # no SKU
    rows[20][8] = "plenty"  # quantity not a number
    rows[30][9] = "call us"  # no price
    rows[40][3] = "large"  # storage
    rows[50][0] = rows[49][0]  # the same SKU twice
    rows[60][10] = "dollars"  # currency

    record = import_list(supplier, xlsx(rows))

    run = record.sync_run
    assert record.status == StockListImport.Status.IMPORTED
    assert (record.rows, record.bad_row_count) == (10_000, 6)
    assert run.kind == SyncRun.Kind.FULL and run.status == SyncRun.Status.SUCCEEDED
    assert (run.items_seen, run.items_rejected, run.items_created) == (10_000, 6, 9_994)
    assert run.products_created == 9_994
    # Row numbers as the supplier sees them: the header is row 1.
    assert [(bad["row"], bad["values"]["sku"]) for bad in record.bad_rows] == [
        (12, ""), (22, "SL-00020"), (32, "SL-00030"), (42, "SL-00040"), (52, "SL-00049"),
        (62, "SL-00060")]
    assert "already appears on row 51" in record.bad_rows[4]["reason"]
    assert all(rejection["reason"].startswith("row ") for rejection in run.rejections)
    report = list(csv.reader(io.StringIO(stocklists.bad_rows_csv(record))))
    assert len(report) == 7 and report[2][:2] == ["22", record.bad_rows[1]["reason"]]
    assert SupplierOffer.objects.filter(supplier=supplier).count() == 9_994
    assert Product.objects.get(sku="SL-00001").sell_price is not None


def test_a_full_list_takes_what_it_omits_out_of_stock_and_a_delta_never_does(supplier):
    import_list(supplier, csv_bytes([row(number) for number in range(10)]),
                filename="full.csv")
    delta = [row(3, price="250.00"), row(100, quantity=7)]  # a price drop and new stock

    record = import_list(supplier, csv_bytes(delta), filename="delta.csv", delta=True)

    run = record.sync_run
    assert run.kind == SyncRun.Kind.DELTA and run.status == SyncRun.Status.SUCCEEDED
    assert run.items_out_of_stock == 0
    stock = quantities(supplier)
    assert all(stock[f"SL-{number:05d}"] == 5 for number in range(10))
    assert stock["SL-00100"] == 7
    assert SupplierOffer.objects.get(supplier_sku="SL-00003").cost_price == Decimal("250.00")

    full = import_list(supplier, csv_bytes([row(number) for number in range(1, 10)]
                                           + [row(100, quantity=7)]), filename="full2.csv")
    assert full.sync_run.items_out_of_stock == 1
    assert quantities(supplier)["SL-00000"] == 0


def test_a_first_delta_file_is_still_a_delta(supplier):
    """With no sync before it, the service would read a delta as full: the file says delta."""
    assert not SyncRun.objects.exists()
    record = import_list(supplier, csv_bytes([row(1)]), filename="d.csv", delta=True)
    assert record.sync_run.kind == SyncRun.Kind.DELTA
    assert record.sync_run.items_out_of_stock == 0


def test_a_file_without_the_needed_columns_is_refused_and_applies_nothing(supplier):
    record = import_list(supplier, csv_bytes([["X-1", "5"]], header=["Part", "Units"]),
                         filename="odd.csv")
    assert record.status == StockListImport.Status.REFUSED
    assert "sku" in record.error and record.sync_run is None
    assert not SyncRun.objects.exists()
    assert not SupplierOffer.objects.filter(supplier=supplier).exists()


def test_columns_are_mapped_per_supplier(supplier):
    supplier.stock_list_columns = {"sku": "Item #", "quantity": "Avail", "price": "Your cost",
                                   "defaults": {"warehouse": "wsc-direct"}}
    supplier.save()
    header = ["Item #", "Brand", "Model", "GB", "Color", "Grade", "Carrier", "Avail",
              "Your cost"]
    content = csv_bytes([["M-1", "Samsung", "Galaxy S21", "256", "Black", "A", "Unlocked",
                          "3", "$1,020.50"]], header=header)

    record = import_list(supplier, content, filename="mapped.csv")

    offer = SupplierOffer.objects.get(supplier_sku="M-1")
    assert record.bad_row_count == 0
    assert (offer.storage_gb, offer.quantity, offer.cost_price, offer.warehouse_code) == (
        256, 3, Decimal("1020.50"), "wsc-direct")


def test_the_watched_folder_imports_and_files_away(supplier, tmp_path):
    folder = tmp_path / "stock-lists"
    (folder / supplier.slug / "full").mkdir(parents=True)
    (folder / supplier.slug / "delta").mkdir(parents=True)
    good = folder / supplier.slug / "full" / "stock.csv"
    good.write_bytes(csv_bytes([row(number) for number in range(3)]))
    exported = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    os.utime(good, (exported.timestamp(), exported.timestamp()))
    bad = folder / supplier.slug / "delta" / "broken.xlsx"
    bad.write_bytes(b"not a workbook")

    records = stocklists.import_watched_folder(folder=folder)

    assert [(record.filename, record.kind, record.status) for record in records] == [
        ("stock.csv", "full", "imported"), ("broken.xlsx", "delta", "refused")]
    assert not good.exists() and not bad.exists()
    done = list((folder / supplier.slug / "done").iterdir())
    failed = sorted(path.name for path in (folder / supplier.slug / "failed").iterdir())
    assert [path.name.endswith("-stock.csv") for path in done] == [True]
    assert len(failed) == 2 and failed[1].endswith("broken.xlsx.error.txt")
    offer = SupplierOffer.objects.get(supplier_sku="SL-00001")
    assert offer.supplier_updated_at == exported
    assert stocklists.import_watched_folder(folder=folder) == []


def test_a_file_left_by_a_dead_importer_is_taken_back(supplier, tmp_path, settings):
    settings.INVENTORY_SYNC_LOCK_STALE_SECONDS = -1  # anything claimed is abandoned
    processing = tmp_path / supplier.slug / "processing"
    processing.mkdir(parents=True)
    (processing / "delta--late.csv").write_bytes(csv_bytes([row(1)]))

    records = stocklists.import_watched_folder(folder=tmp_path)

    assert [(record.filename, record.kind) for record in records] == [("late.csv", "delta")]
    assert not list(processing.iterdir())


@pytest.mark.parametrize("columns", [
    {"stock": "Qty"}, {"sku": ""}, {"defaults": {"colour_code": "X"}}, ["SKU"]])
def test_a_column_mapping_naming_unknown_fields_is_refused(supplier, columns):
    supplier.stock_list_columns = columns
    with pytest.raises(ValidationError):
        supplier.full_clean()


def test_the_default_mapping_is_valid(supplier):
    supplier.stock_list_columns = {"sku": "Item #", "defaults": {"warehouse": "wsc-direct"}}
    supplier.full_clean()
