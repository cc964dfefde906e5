from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PhoneExportConfig(AppConfig):
    name = "phoneexport"
    verbose_name = _("PhoneExport")
