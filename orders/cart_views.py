import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.models import ClientCompany
from orders import cart as cart_service
from orders.errors import InvalidAddress, InvalidOrder, OrderError, OutOfStock
from orders.forms import SHIPPING_METHODS, CartQuantityForm, CheckoutForm
from orders.models import Order


def ordering_company(request) -> ClientCompany:
    """The company the user buys for, or 403: viewers and staff browse, they do not buy."""
    company = request.user.company
    if not request.user.can_order or company is None or not company.is_active:
        raise PermissionDenied(_("Your account cannot place orders."))
    return company


def _back(request, fallback: str):
    """Back where the form was posted from (the catalogue page with its filters), if ours."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


def _report_change(request, change: cart_service.CartChange) -> None:
    level = messages.WARNING if change.capped else messages.SUCCESS
    messages.add_message(request, level, change.message)


def _quantity_form_error(request, form: CartQuantityForm) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@login_required
@require_GET
def cart_detail(request):
    company = ordering_company(request)
    cart = cart_service.cart_contents(session=request.session, company=company)
    for notice in cart.notices:
        messages.warning(request, notice)
    return render(request, "cart/detail.html", {"cart": cart})


@login_required
@require_POST
def cart_add(request):
    ordering_company(request)
    form = CartQuantityForm(request.POST)
    if not form.is_valid() or form.cleaned_data["quantity"] < 1:
        messages.error(request, _("Enter a quantity of at least 1."))
        return _back(request, "catalogue:list")
    try:
        change = cart_service.add_to_cart(session=request.session, sku=form.cleaned_data["sku"],
                                          quantity=form.cleaned_data["quantity"])
    except InvalidOrder as error:
        messages.error(request, str(error))
    else:
        _report_change(request, change)
    return _back(request, "catalogue:list")


@login_required
@require_POST
def cart_update(request):
    """Set a line's quantity; 0 (or the Remove button) takes the line out."""
    ordering_company(request)
    data = request.POST.copy()
    if "remove" in data:
        data["quantity"] = "0"
    form = CartQuantityForm(data)
    if not form.is_valid():
        _quantity_form_error(request, form)
        return redirect("cart:detail")
    try:
        change = cart_service.set_quantity(session=request.session,
                                           sku=form.cleaned_data["sku"],
                                           quantity=form.cleaned_data["quantity"])
    except InvalidOrder as error:
        messages.error(request, str(error))
    else:
        _report_change(request, change)
    return redirect("cart:detail")


# Never cached: going back to the form must give a new token, or it would answer the last order.
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def checkout(request):
    """The order summary and the shipping form; placing the order empties the cart."""
    company = ordering_company(request)
    if request.method == "POST":
        form = CheckoutForm(request.POST, company=company)
        if form.is_valid():
            order = _place(request, form, company)
            if order is not None:
                return redirect("cart:confirmation", public_id=order.public_id)
    else:
        form = CheckoutForm(company=company, initial={"request_key": uuid.uuid4().hex})
    cart = cart_service.cart_contents(session=request.session, company=company)
    if not cart and request.method == "GET":
        messages.info(request, _("Your cart is empty: add products from the catalogue."))
        return redirect("cart:detail")
    warehouses = {line.product.warehouse.pk: line.product.warehouse for line in cart.lines}
    return render(request, "cart/checkout.html", {"cart": cart, "form": form,
                                                  "warehouses": list(warehouses.values())})


def _place(request, form: CheckoutForm, company: ClientCompany) -> Order | None:
    """The order, or None with the reason on the form."""
    try:
        return cart_service.checkout(
            session=request.session, company=company, user=request.user,
            ship_to=form.ship_to(), request_key=form.cleaned_data["request_key"],
            po_reference=form.cleaned_data["po_reference"], notes=form.cleaned_data["notes"],
            shipping_method=form.cleaned_data["shipping_method"],
            ip_address=request.META.get("REMOTE_ADDR"))
    except InvalidAddress as error:
        form.add_error(None, str(error))
        form.add_address_errors(error.details)
    except OutOfStock as error:
        form.add_error(None, str(error))
        for line in error.details:
            form.add_error(None, _("%(sku)s: you asked for %(requested)d, %(available)d "
                                   "available.") % line)
    except InvalidOrder as error:
        form.add_error(None, str(error))
        for detail in error.details:
            if "error" in detail:
                form.add_error(None, detail["error"])
    except OrderError as error:
        form.add_error(None, str(error))
    return None


@login_required
@require_GET
def confirmation(request, public_id):
    """The order just placed; only its own company's users see it."""
    company = request.user.company
    if company is None:
        raise PermissionDenied(_("Orders are for client accounts."))
    order = get_object_or_404(Order.objects.prefetch_related("lines"), company=company,
                              public_id=public_id)
    return render(request, "cart/confirmation.html", {
        "order": order,
        "shipping_method": dict(SHIPPING_METHODS).get(order.shipping_method,
                                                      order.shipping_method)})
