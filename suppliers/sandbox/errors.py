"""The one error the sandbox's services raise; the HTTP layer turns its code into a status."""

from typing import Any


class SupplierError(Exception):
    """A refusal in the contract's terms: a `code`, a readable message and optional details."""

    def __init__(self, code: str, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
