import csv
import io
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from customers.models import ClientCompany
from inventory import selectors
from inventory.forms import CatalogueFilterForm

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Column widths in characters, in the order of price_list_header().
XLSX_COLUMN_WIDTHS = (24, 14, 22, 12, 12, 16, 16, 16, 10, 12, 9)
UNIT_PRICE_COLUMN = 9


def client_company(request) -> ClientCompany:
    """The signed-in user's active company, or 403: catalogue pages are for client accounts."""
    company = request.user.company
    if company is None or not company.is_active:
        raise PermissionDenied(_("The catalogue and price lists are for client accounts."))
    return company


@login_required
@require_GET
def catalogue(request):
    """Products for sale at the client's prices, filtered, sorted and a page at a time."""
    company = client_company(request)
    facets = selectors.catalogue_facets(manufacturer=request.GET.get("manufacturer", ""))
    form = CatalogueFilterForm(request.GET, facets=facets)
    page = selectors.catalogue_products(company=company, filters=form.filters())
    # The filters alone: the page links add their page and position.
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("after", None)
    return render(request, "catalogue/list.html", {
        "form": form, "page": page, "query": query.urlencode(),
        "can_order": request.user.can_order, "filters_key": _filters_key(form, facets),
        "facets_seconds": selectors.CATALOGUE_FACETS_SECONDS})


def _filters_key(form: CatalogueFilterForm, facets: selectors.CatalogueFacets) -> str | None:
    """What the filter form's choices look like (with the language), when it is one of a
    bounded set: valid choices (the search box is rendered apart). A bad value is rendered
    afresh, so that no one fills the cache with keys of their making."""
    if not form.is_valid():
        return None
    return ":".join([facets.version, *(str(form.cleaned_data[name] or "") for name in (
        "manufacturer", "model", "storage", "colour", "grade", "carrier", "warehouse",
        "in_stock", "sort"))])


@login_required
@require_GET
def price_list(request):
    """The signed-in client's price list: products in stock at its prices, as CSV."""
    return price_list_response(company=client_company(request))


@login_required
@require_GET
def price_list_xlsx(request):
    """The same price list as a spreadsheet."""
    return price_list_xlsx_response(company=client_company(request))


def price_list_header() -> list[str]:
    return [_("SKU"), _("Manufacturer"), _("Model"), _("Storage (GB)"), _("Colour"),
            _("Grade"), _("Carrier"), _("Warehouse"), _("Available"), _("Unit price"),
            _("Currency")]


def price_list_values(row: selectors.PriceListRow) -> list:
    product = row.product
    return [product.sku, product.manufacturer, product.model_name, product.storage_gb,
            product.colour, product.grade.name, product.carrier.name, product.warehouse.name,
            row.available_quantity, row.unit_price, product.currency]


def _price_list_filename(company: ClientCompany, extension: str) -> str:
    return f"phoneexport-prices-{company.account_number}-{timezone.now():%Y%m%d}.{extension}"


def price_list_response(*, company: ClientCompany) -> StreamingHttpResponse:
    """A CSV download (UTF-8, comma-separated, one header row) streamed as it is read."""
    # Headers now, in the request's language; rows as the response is sent.
    response = StreamingHttpResponse(_price_list_lines(company, price_list_header()),
                                     content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="{_price_list_filename(company, "csv")}"')
    return response


class _Line:
    """A file-like object whose write() hands the CSV line back instead of storing it."""

    def write(self, line: str) -> str:
        return line


def _price_list_lines(company: ClientCompany, header: list[str]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    for row in selectors.price_list(company=company):
        values = price_list_values(row)
        values[UNIT_PRICE_COLUMN] = f"{row.unit_price:.2f}"
        yield writer.writerow(values)


def price_list_xlsx_response(*, company: ClientCompany) -> HttpResponse:
    """An XLSX download: one sheet, a bold frozen header row, numbers as numbers."""
    # Write-only: rows go to a temporary file as they come, not into a tree in memory.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Price list"))
    sheet.freeze_panes = "A2"
    for index, width in enumerate(XLSX_COLUMN_WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    bold = Font(bold=True)
    header = []
    for title in price_list_header():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in selectors.price_list(company=company):
        values = price_list_values(row)
        price = WriteOnlyCell(sheet, value=values[UNIT_PRICE_COLUMN])
        price.number_format = "#,##0.00"
        values[UNIT_PRICE_COLUMN] = price
        sheet.append(values)
    content = io.BytesIO()
    workbook.save(content)
    response = HttpResponse(content.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = (
        f'attachment; filename="{_price_list_filename(company, "xlsx")}"')
    return response
