import csv
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from customers.models import ClientCompany
from inventory import selectors


@login_required
@require_GET
def price_list(request):
    """The signed-in client's price list: products in stock at its prices, as CSV."""
    company = request.user.company
    if company is None or not company.is_active:
        raise PermissionDenied(_("Price lists are for client accounts."))
    return price_list_response(company=company)


def price_list_response(*, company: ClientCompany) -> StreamingHttpResponse:
    """A CSV download (UTF-8, comma-separated, one header row) streamed as it is read."""
    # Headers now, in the request's language; rows as the response is sent.
    header = [_("SKU"), _("Manufacturer"), _("Model"), _("Storage (GB)"), _("Colour"),
              _("Grade"), _("Carrier"), _("Warehouse"), _("Available"), _("Unit price"),
              _("Currency")]
    response = StreamingHttpResponse(_price_list_lines(company, header),
                                     content_type="text/csv")
    filename = f"phoneexport-prices-{company.account_number}-{timezone.now():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _Line:
    """A file-like object whose write() hands the CSV line back instead of storing it."""

    def write(self, line: str) -> str:
        return line


def _price_list_lines(company: ClientCompany, header: list[str]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    for row in selectors.price_list(company=company):
        product = row.product
        yield writer.writerow([product.sku, product.manufacturer, product.model_name,
                               product.storage_gb, product.colour, product.grade.name,
                               product.carrier.name, product.warehouse.name,
                               row.available_quantity, f"{row.unit_price:.2f}",
                               product.currency])
