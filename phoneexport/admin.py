from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("PhoneExport administration")
admin.site.site_title = _("PhoneExport")
admin.site.index_title = _("Wholesale desk")
