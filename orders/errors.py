from django.utils.translation import gettext as _


class OrderError(Exception):
    """Base of the order domain's errors; the API and the pages turn them into answers."""


class InvalidTransition(OrderError):
    def __init__(self, from_status: str, to_status: str):
        self.from_status = str(from_status)
        self.to_status = str(to_status)
        super().__init__(_("An order cannot go from '%(from)s' to '%(to)s'.")
                         % {"from": self.from_status, "to": self.to_status})
