from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from customers.models import User
from notifications import client_webhooks, selectors, services
from notifications.forms import EmailPreferencesForm, WebhookEndpointForm
from notifications.models import Event


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    """The signed-in user's choice of which order events email them."""
    events = selectors.preference_events_for(user=request.user)
    if request.method == "POST":
        form = EmailPreferencesForm(request.POST, events=events)
        if form.is_valid():
            services.set_email_preferences(user=request.user,
                                           enabled_events=form.cleaned_data["events"])
            messages.success(request, _("Your email preferences are saved."))
            return redirect("notifications:preferences")
    else:
        chosen = selectors.email_events_for(user=request.user)
        form = EmailPreferencesForm(
            events=events, initial={"events": [event for event in events if event in chosen]})
    return render(request, "notifications/preferences.html",
                  {"form": form, "is_client": request.user.company_id is not None})


# --- Webhooks to the client's own systems ---------------------------------------------------
def account_admin_required(view):
    """Client account admins only; everyone else gets a 404, as if the pages did not exist."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if user.company_id is None or user.role != User.Role.ACCOUNT_ADMIN:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _show_secret(request, endpoint, secret: str, *, is_new: bool):
    # The secret is shown on this answer only; it is never displayed again.
    response = render(request, "notifications/webhooks/secret.html",
                      {"endpoint": endpoint, "secret": secret, "is_new": is_new})
    response["Cache-Control"] = "no-store"
    return response


@account_admin_required
@require_http_methods(["GET"])
def webhook_endpoints(request):
    endpoints = selectors.webhook_endpoints_for(company_id=request.user.company_id)
    return render(request, "notifications/webhooks/list.html", {"endpoints": endpoints})


@account_admin_required
@require_http_methods(["GET", "POST"])
def webhook_endpoint_add(request):
    form = WebhookEndpointForm(request.POST or None, events=client_webhooks.SUBSCRIBABLE_EVENTS)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = client_webhooks.create_endpoint(
                company=request.user.company, url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                events=form.cleaned_data["events"], created_by=request.user)
        except ValidationError as error:
            form.add_error("url", error)
        else:
            return _show_secret(request, endpoint, endpoint.secret, is_new=True)
    return render(request, "notifications/webhooks/add.html", {"form": form})


@account_admin_required
@require_http_methods(["GET"])
def webhook_endpoint_detail(request, endpoint_id: int):
    endpoint = selectors.webhook_endpoint_for(company_id=request.user.company_id,
                                              endpoint_id=endpoint_id)
    return render(request, "notifications/webhooks/detail.html", {
        "endpoint": endpoint,
        "event_labels": [Event(event).label for event in endpoint.events],
        "deliveries": selectors.recent_webhook_deliveries(endpoint=endpoint)})


@account_admin_required
@require_POST
def webhook_endpoint_rotate(request, endpoint_id: int):
    endpoint = selectors.webhook_endpoint_for(company_id=request.user.company_id,
                                              endpoint_id=endpoint_id)
    secret = client_webhooks.rotate_secret(endpoint=endpoint)
    return _show_secret(request, endpoint, secret, is_new=False)


@account_admin_required
@require_POST
def webhook_endpoint_disable(request, endpoint_id: int):
    endpoint = selectors.webhook_endpoint_for(company_id=request.user.company_id,
                                              endpoint_id=endpoint_id)
    client_webhooks.disable_endpoint(
        endpoint=endpoint, reason=_("Disabled by %(user)s.") % {"user": request.user.email})
    messages.success(request, _("The endpoint is disabled; events wait for it."))
    return redirect("notifications:webhook_endpoint", endpoint_id=endpoint.pk)


@account_admin_required
@require_POST
def webhook_endpoint_enable(request, endpoint_id: int):
    endpoint = selectors.webhook_endpoint_for(company_id=request.user.company_id,
                                              endpoint_id=endpoint_id)
    queued = client_webhooks.enable_endpoint(endpoint=endpoint)
    messages.success(request, ngettext(
        "The endpoint is enabled; %(count)d waiting event is being sent.",
        "The endpoint is enabled; %(count)d waiting events are being sent.",
        queued) % {"count": queued})
    return redirect("notifications:webhook_endpoint", endpoint_id=endpoint.pk)


@account_admin_required
@require_POST
def webhook_endpoint_delete(request, endpoint_id: int):
    endpoint = selectors.webhook_endpoint_for(company_id=request.user.company_id,
                                              endpoint_id=endpoint_id)
    client_webhooks.delete_endpoint(endpoint=endpoint)
    messages.success(request, _("The endpoint is deleted."))
    return redirect("notifications:webhook_endpoints")


@account_admin_required
@require_POST
def webhook_endpoint_test(request, endpoint_id: int):
    endpoint = selectors.webhook_endpoint_for(company_id=request.user.company_id,
                                              endpoint_id=endpoint_id)
    try:
        client_webhooks.send_test_event(endpoint=endpoint)
    except client_webhooks.EndpointDisabled:
        messages.error(request, _("Enable the endpoint before sending to it."))
    else:
        messages.success(request, _("A test event is on its way."))
    return redirect("notifications:webhook_endpoint", endpoint_id=endpoint.pk)


@account_admin_required
@require_POST
def webhook_delivery_resend(request, endpoint_id: int, delivery_id: int):
    endpoint = selectors.webhook_endpoint_for(company_id=request.user.company_id,
                                              endpoint_id=endpoint_id)
    delivery = get_object_or_404(endpoint.deliveries, pk=delivery_id)
    if client_webhooks.resend_deliveries(delivery_ids=[delivery.pk]):
        messages.success(request, _("The event is being sent again."))
    else:
        messages.error(request, _("It cannot be sent again now: it is being sent, or the "
                                  "endpoint is disabled."))
    return redirect("notifications:webhook_endpoint", endpoint_id=endpoint.pk)
