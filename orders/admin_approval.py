"""Admin actions for credit: approve or decline orders waiting for approval, record payments.

Declining and paying ask for a reason or a reference on an intermediate page first.
"""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders import services
from orders.errors import OrderError


def _actor(request) -> services.Actor:
    return services.Actor(user=request.user, ip_address=request.META.get("REMOTE_ADDR"))


def _run(modeladmin, request, orders, action, done_message) -> None:
    done = 0
    for order in orders:
        try:
            action(order)
        except OrderError as exc:
            modeladmin.message_user(request, f"{order.number}: {exc}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("Reason, sent to the client"), widget=forms.Textarea,
                             max_length=1000)


class PaymentForm(forms.Form):
    paid_on = forms.DateField(label=_("Paid on"), initial=timezone.localdate)
    reference = forms.CharField(label=_("Payment reference"), max_length=100, required=False)


def _intermediate(modeladmin, request, queryset, *, form_class, action_name, title,
                  template):
    """The form on its own page; None once it was submitted valid (the caller acts)."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        return None, form
    context = {**modeladmin.admin_site.each_context(request), "title": title, "form": form,
               "orders": queryset, "action_name": action_name,
               "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
               "opts": modeladmin.model._meta}
    return TemplateResponse(request, template, context), form


@admin.action(description=_("Approve (then forward to the supplier)"))
def approve_orders(modeladmin, request, queryset):
    _run(modeladmin, request, queryset,
         lambda order: services.approve_order(order=order, actor=_actor(request)),
         _("%(count)d order(s) approved."))


@admin.action(description=_("Decline (release the stock and tell the client)"))
def decline_orders(modeladmin, request, queryset):
    response, form = _intermediate(modeladmin, request, queryset, form_class=DeclineForm,
                                   action_name="decline_orders", title=_("Decline orders"),
                                   template="admin/orders/order/action_form.html")
    if response is not None:
        return response
    _run(modeladmin, request, queryset,
         lambda order: services.decline_order(order=order, actor=_actor(request),
                                              reason=form.cleaned_data["reason"]),
         _("%(count)d order(s) declined."))
    return None


@admin.action(description=_("Record payment"))
def record_payments(modeladmin, request, queryset):
    response, form = _intermediate(modeladmin, request, queryset, form_class=PaymentForm,
                                   action_name="record_payments", title=_("Record payment"),
                                   template="admin/orders/order/action_form.html")
    if response is not None:
        return response
    paid_at = timezone.make_aware(timezone.datetime.combine(form.cleaned_data["paid_on"],
                                                            timezone.datetime.min.time()))
    _run(modeladmin, request, queryset,
         lambda order: services.record_payment(order=order, actor=_actor(request),
                                               paid_at=paid_at,
                                               reference=form.cleaned_data["reference"]),
         _("Payment recorded on %(count)d order(s)."))
    return None


@admin.action(description=_("Mark unpaid"))
def mark_unpaid(modeladmin, request, queryset):
    _run(modeladmin, request, queryset,
         lambda order: services.mark_unpaid(order=order, actor=_actor(request)),
         _("%(count)d order(s) marked unpaid."))


class PaymentFilter(admin.SimpleListFilter):
    title = _("payment")
    parameter_name = "paid"

    def lookups(self, request, model_admin):
        return [("no", _("Unpaid")), ("yes", _("Paid"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(paid_at__isnull=self.value() == "no")
        return queryset
