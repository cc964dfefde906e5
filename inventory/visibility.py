"""What a client may see and order: its tier's grades, carriers and out-of-stock rule, unless
the company overrides them. The catalogue, the price list, the API and the order service all
filter through here, so a hidden product is hidden everywhere and cannot be ordered."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from customers.models import ClientCompany
from inventory.models import Product


@dataclass(frozen=True)
class Visibility:
    grade_ids: frozenset[int] | None  # None: every grade
    carrier_ids: frozenset[int] | None  # None: every carrier
    show_out_of_stock: bool


def visibility_for(*, company: ClientCompany) -> Visibility:
    tier = company.pricing_tier
    grade_ids = _chosen(company.visible_grades) or (tier and _chosen(tier.visible_grades))
    carrier_ids = _chosen(company.visible_carriers) or (tier and _chosen(tier.visible_carriers))
    if company.show_out_of_stock is not None:
        show_out_of_stock = company.show_out_of_stock
    else:
        show_out_of_stock = tier.show_out_of_stock if tier else True
    return Visibility(grade_ids=grade_ids or None, carrier_ids=carrier_ids or None,
                      show_out_of_stock=show_out_of_stock)


def _chosen(related) -> frozenset[int]:
    return frozenset(related.values_list("pk", flat=True))


def visible_to(products: QuerySet[Product], *, company: ClientCompany,
               visibility: Visibility | None = None) -> QuerySet[Product]:
    """The products of the queryset this client may see and order."""
    visibility = visibility or visibility_for(company=company)
    condition = Q()
    if visibility.grade_ids is not None:
        condition &= Q(grade_id__in=visibility.grade_ids)
    if visibility.carrier_ids is not None:
        condition &= Q(carrier_id__in=visibility.carrier_ids)
    return products.filter(condition)
