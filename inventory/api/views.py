from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from inventory import selectors
from inventory.api.serializers import (
    ProductFilterSerializer, ProductPageSerializer, ProductSerializer,
)
from phoneexport.api import ErrorSerializer


class ProductListView(APIView):
    """Products for sale to the caller's company, at its prices."""

    @extend_schema(
        operation_id="products_list", parameters=[ProductFilterSerializer],
        responses={200: ProductPageSerializer,
                   **{code: OpenApiResponse(ErrorSerializer) for code in (400, 401, 403, 429)}},
        description=("Products for sale at your prices, with the units you can order now. "
                     "Pages have no total count: follow `next` until it is null."))
    def get(self, request: Request) -> Response:
        company = request.user.company
        if company is None or not company.is_active:
            raise PermissionDenied(_("The catalogue is for client accounts."))
        filters = ProductFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = selectors.catalogue_products(company=company, filters=filters.to_filters())
        url = remove_query_param(request.build_absolute_uri(), "after")
        previous = next_url = None
        if page.has_previous:
            previous = (replace_query_param(url, "page", page.number - 1)
                        if page.number > 2 else remove_query_param(url, "page"))
        if page.has_next:
            # With the position: a walk through every page costs each page the same.
            next_url = replace_query_param(replace_query_param(url, "page", page.number + 1),
                                           "after", page.next_cursor)
        return Response({
            "page": page.number, "page_size": page.page_size,
            "next": next_url,
            "previous": previous,
            "results": ProductSerializer(page.rows, many=True).data,
        })
