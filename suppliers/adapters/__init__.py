"""Suppliers behind one neutral interface (base.py); `get_adapter(slug)` gives the one to call."""

from suppliers.adapters.registry import get_adapter, reset_adapters

__all__ = ["get_adapter", "reset_adapters"]
