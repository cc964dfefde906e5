from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from customers import selectors, services
from customers.decorators import client_required
from customers.errors import AccountError, InvitationNotSent
from customers.forms import InviteUserForm, ProfileForm, RoleForm, ShippingAddressForm
from customers.services import set_user_language


@require_POST
def set_language(request):
    """Django's language switch, which also stores the choice on a signed-in user."""
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        set_user_language(user=request.user, language=language)
    return django_set_language(request)


def account_admin_required(view):
    """Pages that manage the company: its account admins only.

    Buyers and viewers get 403, not 404: they know these pages exist (they are members of
    the company), so hiding them reveals nothing and a plain "not allowed" is clearer.
    Objects of another company are a different matter: the selectors scope every lookup
    to the admin's own company, so those are 404 and their existence stays unknown.
    """
    @client_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not selectors.is_account_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return wrapper


@login_required
@require_http_methods(["GET", "POST"])
def account(request):
    """The signed-in user's company (for clients) and their own profile."""
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            services.update_profile(user=user, **form.cleaned_data)
            messages.success(request, _("Your profile is saved."))
            return redirect("customers:account")
    else:
        form = ProfileForm(initial={"first_name": user.first_name, "last_name": user.last_name,
                                    "language": user.language})
    return render(request, "account/overview.html", {
        "form": form, "company": user.company,
        "is_account_admin": selectors.is_account_admin(user),
    })


# --- Users of the company ----------------------------------------------------------------
@account_admin_required
def users(request):
    return render(request, "account/users.html", {
        "company": request.user.company,
        "users": selectors.company_users(company=request.user.company),
    })


@account_admin_required
@require_http_methods(["GET", "POST"])
def invite_user(request):
    form = InviteUserForm(request.POST or None, initial={"language": request.user.language})
    if request.method == "POST" and form.is_valid():
        try:
            invited = services.invite_user(company=request.user.company, **form.cleaned_data)
        except InvitationNotSent as exc:
            messages.warning(request, str(exc))
            invited = selectors.company_users(company=request.user.company).get(
                email__iexact=form.cleaned_data["email"])
            return redirect("customers:user", pk=invited.pk)
        except AccountError as exc:
            form.add_error("email", str(exc))
        else:
            messages.success(request, _("%(email)s is invited: we emailed them a link to "
                                        "choose their password.") % {"email": invited.email})
            return redirect("customers:users")
    return render(request, "account/user_invite.html", {"form": form})


@account_admin_required
@require_http_methods(["GET", "POST"])
def user_detail(request, pk: int):
    """One user of the admin's company: their role, and deactivating or reactivating them."""
    member = get_object_or_404(selectors.company_users(company=request.user.company), pk=pk)
    form = RoleForm(request.POST or None, initial={"role": member.role})
    if request.method == "POST" and form.is_valid():
        try:
            services.change_user_role(acting_user=request.user, user=member,
                                      role=form.cleaned_data["role"])
        except AccountError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The role of %(email)s is saved.")
                             % {"email": member.email})
        return redirect("customers:user", pk=member.pk)
    return render(request, "account/user_detail.html", {
        "member": member, "form": form, "is_yourself": member.pk == request.user.pk,
    })


@account_admin_required
@require_POST
def set_user_active(request, pk: int):
    member = get_object_or_404(selectors.company_users(company=request.user.company), pk=pk)
    activate = request.POST.get("active") == "1"
    try:
        services.set_user_active(acting_user=request.user, user=member, is_active=activate)
    except AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, (_("%(email)s can sign in again.") if activate else
                                   _("%(email)s is deactivated and can no longer sign in."))
                         % {"email": member.email})
    return redirect("customers:user", pk=member.pk)


@account_admin_required
@require_POST
def resend_invitation(request, pk: int):
    member = get_object_or_404(selectors.company_users(company=request.user.company), pk=pk)
    try:
        services.send_invitation(user=member)
    except AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("We emailed %(email)s a new link to choose their password.")
                         % {"email": member.email})
    return redirect("customers:user", pk=member.pk)


# --- Address book ------------------------------------------------------------------------
@client_required
def addresses(request):
    """Every member reads the address book (buyers ship to it); account admins manage it."""
    return render(request, "account/addresses.html", {
        "addresses": selectors.company_addresses(company=request.user.company),
        "can_manage": selectors.is_account_admin(request.user),
    })


@account_admin_required
@require_http_methods(["GET", "POST"])
def address_create(request):
    form = ShippingAddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.create_shipping_address(company=request.user.company,
                                         fields=form.address_fields(),
                                         make_default=form.cleaned_data["make_default"])
        messages.success(request, _("The address is added."))
        return redirect("customers:addresses")
    return render(request, "account/address_form.html", {"form": form})


@account_admin_required
@require_http_methods(["GET", "POST"])
def address_edit(request, pk: int):
    address = get_object_or_404(selectors.company_addresses(company=request.user.company), pk=pk)
    form = ShippingAddressForm(request.POST or None, instance=address,
                               initial={"make_default": address.is_default})
    if request.method == "POST" and form.is_valid():
        services.update_shipping_address(address=address, fields=form.address_fields(),
                                         make_default=form.cleaned_data["make_default"])
        messages.success(request, _("The address is saved."))
        return redirect("customers:addresses")
    return render(request, "account/address_form.html", {"form": form, "address": address})


@account_admin_required
@require_http_methods(["GET", "POST"])
def address_delete(request, pk: int):
    address = get_object_or_404(selectors.company_addresses(company=request.user.company), pk=pk)
    if request.method == "POST":
        services.delete_shipping_address(address=address)
        messages.success(request, _("The address is deleted. Orders already placed keep it."))
        return redirect("customers:addresses")
    return render(request, "account/address_confirm_delete.html", {"address": address})


@account_admin_required
@require_POST
def address_make_default(request, pk: int):
    address = get_object_or_404(selectors.company_addresses(company=request.user.company), pk=pk)
    services.set_default_address(address=address)
    messages.success(request, _("%(label)s is now the default address.")
                     % {"label": address.label})
    return redirect("customers:addresses")
