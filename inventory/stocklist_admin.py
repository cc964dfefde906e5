"""Admin of supplier stock lists: upload one, and see every import with its bad-row report."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from inventory import stocklists
from inventory.errors import SyncInProgress
from inventory.models import StockListImport
from suppliers.models import Supplier

MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class StockListUploadForm(forms.Form):
    supplier = forms.ModelChoiceField(label=_("Supplier"),
                                      queryset=Supplier.objects.filter(is_active=True))
    kind = forms.ChoiceField(label=_("Kind"), choices=StockListImport.Kind.choices,
                             initial=StockListImport.Kind.FULL,
                             help_text=_("A full list takes what it does not list out of stock; "
                                         "new stock and price drops only never do."))
    file = forms.FileField(label=_("Stock list (XLSX or CSV)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB."))
        if not upload.name.lower().endswith(stocklists.SUFFIXES):
            raise forms.ValidationError(_("Upload an XLSX or CSV file."))
        return upload


@admin.register(StockListImport)
class StockListImportAdmin(admin.ModelAdmin):
    list_display = ["created_at", "supplier", "filename", "kind", "source", "status", "rows",
                    "bad_row_count", "sync_run_link", "report_link"]
    list_filter = ["status", "kind", "source", "supplier"]
    search_fields = ["filename"]
    readonly_fields = [field.name for field in StockListImport._meta.fields]
    list_select_related = ["supplier", "sync_run"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("sync run"))
    def sync_run_link(self, record):
        if record.sync_run_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse(
            "admin:inventory_syncrun_change", args=[record.sync_run_id]), record.sync_run_id)

    @admin.display(description=_("bad-row report"))
    def report_link(self, record):
        if not record.bad_rows:
            return "—"
        return format_html('<a href="{}">CSV</a>', reverse(
            "admin:inventory_stocklistimport_report", args=[record.pk]))

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view),
                 name="inventory_stocklistimport_upload"),
            path("<int:object_id>/report.csv", self.admin_site.admin_view(self.report_view),
                 name="inventory_stocklistimport_report"),
        ] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}),
                         "upload_url": reverse("admin:inventory_stocklistimport_upload")}
        return super().changelist_view(request, extra_context)

    def report_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        record = get_object_or_404(StockListImport, pk=object_id)
        response = HttpResponse(stocklists.bad_rows_csv(record),
                                content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="bad-rows-{record.pk}.csv"'
        return response

    def upload_view(self, request):
        # Importing changes offers and prices: the same right as changing them in admin.
        if not request.user.has_perm("inventory.change_supplieroffer"):
            raise PermissionDenied
        form = StockListUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                record = stocklists.import_stock_list(
                    supplier=form.cleaned_data["supplier"], content=upload.read(),
                    filename=upload.name, source="upload", user=request.user,
                    delta=form.cleaned_data["kind"] == StockListImport.Kind.DELTA)
            except SyncInProgress as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                level = (messages.SUCCESS if record.status == StockListImport.Status.IMPORTED
                         else messages.ERROR)
                self.message_user(request, _(
                    "%(file)s: %(status)s, %(rows)d rows, %(bad)d bad rows. %(error)s") % {
                    "file": record.filename, "status": record.get_status_display(),
                    "rows": record.rows, "bad": record.bad_row_count, "error": record.error},
                    level)
                return HttpResponseRedirect(reverse("admin:inventory_stocklistimport_changelist"))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("Upload a stock list"), "form": form}
        return TemplateResponse(request, "admin/inventory/stocklistimport/upload.html", context)
