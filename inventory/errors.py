from django.utils.translation import gettext as _


class InventoryError(Exception):
    """Base of the inventory domain's errors; `code` is stable, the message for people."""

    code = "inventory_error"


class SyncInProgress(InventoryError):
    """Another sync of the same supplier holds the lock."""

    code = "sync_in_progress"

    def __init__(self, run_id: int | None):
        self.run_id = run_id
        super().__init__(_("Another inventory sync (run %(run)s) is running for this supplier.")
                         % {"run": run_id})


class SyncLockLost(InventoryError):
    """This sync was silent so long that another one took its lock over: it must stop."""

    code = "sync_lock_lost"

    def __init__(self):
        super().__init__(_("The sync lost its lock to another sync and stopped."))


class RemovalsNotHeld(InventoryError):
    code = "removals_not_held"

    def __init__(self):
        super().__init__(_("This sync run has no removals waiting for a decision."))


class StockListUnreadable(InventoryError):
    """A stock-list file that cannot be read as a table with the columns we need."""

    code = "stock_list_unreadable"

    def __init__(self, message: str, details: list | None = None):
        self.details = details or []
        super().__init__(message)
