class OrderError(Exception):
    """Base of the order domain's errors; the API and the pages turn them into answers."""


class InvalidTransition(OrderError):
    def __init__(self, from_status: str, to_status: str):
        super().__init__(f"An order cannot go from {from_status!r} to {to_status!r}.")
        self.from_status = from_status
        self.to_status = to_status
