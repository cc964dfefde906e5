from django.utils.translation import gettext as _


class OrderError(Exception):
    """Base of the order domain's errors; the API and the pages turn them into answers.

    `code` is stable and machine-readable; the message is for people, in their language.
    """

    code = "order_error"


class InvalidTransition(OrderError):
    code = "invalid_transition"

    def __init__(self, from_status: str, to_status: str):
        self.from_status = str(from_status)
        self.to_status = str(to_status)
        super().__init__(_("An order cannot go from '%(from)s' to '%(to)s'.")
                         % {"from": self.from_status, "to": self.to_status})


class NotAllowedToOrder(OrderError):
    code = "not_allowed"

    def __init__(self):
        super().__init__(_("Your account cannot place orders."))


class InvalidOrder(OrderError):
    """The order as asked cannot be placed; `details` says what, line by line."""

    code = "invalid_order"

    def __init__(self, message: str, details: list[dict] | None = None):
        super().__init__(message)
        self.details = details or []


class OutOfStock(InvalidOrder):
    code = "insufficient_stock"

    def __init__(self, details: list[dict]):
        super().__init__(_("Not enough stock for some lines."), details)


class InvalidAddress(InvalidOrder):
    code = "invalid_address"


class NotCancellable(OrderError):
    code = "not_cancellable"

    def __init__(self, message: str | None = None):
        super().__init__(message or _("This order can no longer be cancelled."))


class OrderBusy(OrderError):
    """The order is being sent to the supplier right now; the same request will work shortly."""

    code = "order_busy"

    def __init__(self):
        super().__init__(_("This order is being sent to the supplier. Try again in a moment."))


class ManualRouteError(OrderError):
    """A staff step of the manual route that cannot be done as asked; the message says why."""

    code = "manual_route"

    def __init__(self, message: str, details: list[dict] | None = None):
        super().__init__(message)
        self.details = details or []
