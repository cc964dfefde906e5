"""Admin pages of the manual route: the staff work queue and each order's desk.

The queue lists manual-route orders still open, oldest first. An order's desk shows the
supplier-ready sheet (to copy, download or email as a purchase order) and the forms staff use
to record what the supplier says; each form calls one service of suppliers.manual.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from orders import imei_lists
from orders.errors import OrderError
from orders.states import OrderStatus
from suppliers import manual
from suppliers.models import ImeiList, ManualQueueOrder

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class SupplierNumberForm(forms.Form):
    supplier_number = forms.CharField(label=_("Supplier's order number"), max_length=100)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status reported by the supplier"),
                               choices=[(status.value, status.label)
                                        for status in manual.STAFF_STATUSES])
    reason = forms.CharField(label=_("Reason (holds, rejections)"), required=False,
                             max_length=500)


class ShipmentForm(forms.Form):
    carrier = forms.CharField(label=_("Shipping carrier"), max_length=40)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=100)
    imei_list = forms.FileField(label=_("IMEI list (XLSX or CSV)"))
    accept_issues = forms.BooleanField(
        label=_("Record it even if it does not match the order"), required=False)

    def clean_imei_list(self):
        upload = self.cleaned_data["imei_list"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 10 MB."))
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError(_("Upload an XLSX or CSV file."))
        return upload


class WaitingFilter(admin.SimpleListFilter):
    title = _("step")
    parameter_name = "step"

    def lookups(self, request, model_admin):
        return [("to_place", _("To place at the supplier")),
                ("placed", _("Placed: follow up"))]

    def queryset(self, request, queryset):
        if self.value() == "to_place":
            return manual.to_place(queryset)
        if self.value() == "placed":
            return queryset.exclude(supplier_order_id="")
        return queryset


@admin.register(ManualQueueOrder)
class ManualQueueAdmin(admin.ModelAdmin):
    list_display = ["order_number", "client", "supplier", "order_status", "supplier_order_id",
                    "waiting", "held_imei_lists"]
    list_filter = [WaitingFilter, "supplier"]
    search_fields = ["order__number", "supplier_order_id", "order__company__name"]
    list_per_page = 50

    def get_queryset(self, request):
        return manual.work_queue()

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("order"), ordering="order__number")
    def order_number(self, supplier_order):
        return supplier_order.order.number

    @admin.display(description=_("client"))
    def client(self, supplier_order):
        return supplier_order.order.company.name

    @admin.display(description=_("status"))
    def order_status(self, supplier_order):
        return supplier_order.order.get_status_display()

    @admin.display(description=_("placed by the client"), ordering="created_at")
    def waiting(self, supplier_order):
        return supplier_order.created_at

    @admin.display(description=_("IMEI lists held"))
    def held_imei_lists(self, supplier_order):
        return supplier_order.imei_lists.filter(status=ImeiList.Status.HELD).count() or ""

    def get_urls(self):
        own = [
            path("<int:object_id>/sheet.<str:file_format>", self.admin_site.admin_view(
                self.sheet_view), name="suppliers_manualqueueorder_sheet"),
        ]
        return own + super().get_urls()

    def sheet_view(self, request, object_id, file_format):
        supplier_order = self._get(request, object_id)
        number = supplier_order.order.number
        if file_format == "csv":
            response = HttpResponse(manual.sheet_csv(supplier_order),
                                    content_type="text/csv; charset=utf-8")
        elif file_format == "xlsx":
            response = HttpResponse(
                manual.sheet_xlsx(supplier_order),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        else:
            raise PermissionDenied
        response["Content-Disposition"] = f'attachment; filename="{number}.{file_format}"'
        return response

    def _get(self, request, object_id):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(ManualQueueOrder.objects.select_related(
            "order", "order__company", "supplier"), pk=object_id,
            forwarding_state=manual.MANUAL)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        supplier_order = self._get(request, object_id)
        forms_by_action = {"supplier_number": SupplierNumberForm, "status": StatusForm,
                           "shipment": ShipmentForm}
        bound = {}
        if request.method == "POST":
            if not self.has_change_permission(request, supplier_order):
                raise PermissionDenied
            action = request.POST.get("action", "")
            if action in forms_by_action:
                form = forms_by_action[action](request.POST, request.FILES)
                bound[action] = form
                if form.is_valid() and self._do(request, supplier_order, action,
                                                form.cleaned_data):
                    return HttpResponseRedirect(request.path)
            elif action in ("purchase_order", "release", "discard"):
                self._do(request, supplier_order, action, request.POST)
                return HttpResponseRedirect(request.path)
        order = supplier_order.order
        lists = list(supplier_order.imei_lists.all())
        for imei_list in lists:
            imei_list.described_issues = [imei_lists.describe_issue(issue)
                                          for issue in imei_list.issues]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("%(order)s at %(supplier)s") % {"order": order.number,
                                                       "supplier": supplier_order.supplier},
            "supplier_order": supplier_order,
            "order": order,
            "sheet": manual.order_sheet(supplier_order),
            "sheet_url": reverse("admin:suppliers_manualqueueorder_sheet",
                                 args=[supplier_order.pk, "csv"]),
            "sheet_xlsx_url": reverse("admin:suppliers_manualqueueorder_sheet",
                                      args=[supplier_order.pk, "xlsx"]),
            "purchase_order": manual.purchase_order_sent(supplier_order),
            "number_form": bound.get("supplier_number") or SupplierNumberForm(),
            "status_form": bound.get("status") or StatusForm(),
            "shipment_form": bound.get("shipment") or ShipmentForm(),
            "imei_lists": lists,
            "events": order.events.select_related("actor").order_by("-created_at", "-id")[:50],
            "is_terminal": order.status in (OrderStatus.DELIVERED, OrderStatus.CANCELLED,
                                            OrderStatus.REJECTED),
        }
        return TemplateResponse(request, "admin/suppliers/manualqueueorder/desk.html", context)

    def _do(self, request, supplier_order, action, data) -> bool:
        """Call the service behind one form; True when it was done."""
        user, pk = request.user, supplier_order.pk
        try:
            if action == "supplier_number":
                manual.record_supplier_number(supplier_order_id=pk, user=user,
                                              supplier_number=data["supplier_number"])
                done = _("Supplier order number recorded.")
            elif action == "status":
                manual.record_status(supplier_order_id=pk, user=user, status=data["status"],
                                     reason=data["reason"])
                done = _("Status recorded.")
            elif action == "shipment":
                upload = data["imei_list"]
                imei_list = manual.record_shipment(
                    supplier_order_id=pk, user=user, carrier=data["carrier"],
                    tracking_number=data["tracking_number"], content=upload.read(),
                    filename=upload.name, accept_issues=data["accept_issues"])
                if imei_list.status == ImeiList.Status.HELD:
                    self.message_user(request, _("The IMEI list does not match the order: it "
                                                 "is held for review and the client has not "
                                                 "been told."), messages.WARNING)
                    return True
                done = _("Shipment recorded; the client is told.")
            elif action == "purchase_order":
                sent = manual.send_purchase_order(supplier_order_id=pk, user=user)
                done = (_("Purchase order emailed to the supplier.") if sent
                        else _("The purchase order was already sent."))
            elif action in ("release", "discard"):
                imei_list_id = str(data.get("imei_list", ""))
                if not imei_list_id.isdigit():
                    raise Http404
                imei_list = get_object_or_404(ImeiList, pk=imei_list_id,
                                              supplier_order=supplier_order)
                service = (manual.release_imei_list if action == "release"
                           else manual.discard_imei_list)
                changed = service(imei_list_id=imei_list.pk, user=user)
                done = (_("IMEI list recorded on the order.") if action == "release"
                        else _("IMEI list set aside.")) if changed else _(
                    "That IMEI list was already decided.")
            else:
                return False
        except OrderError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return False
        self.message_user(request, done, messages.SUCCESS)
        return True


@admin.register(ImeiList)
class ImeiListAdmin(admin.ModelAdmin):
    list_display = ["shipment_id", "supplier_order", "filename", "status", "uploaded_by",
                    "uploaded_at"]
    list_filter = ["status"]
    search_fields = ["shipment_id", "filename", "supplier_order__order__number",
                     "tracking_number"]
    readonly_fields = [field.name for field in ImeiList._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
