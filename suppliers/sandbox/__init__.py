"""The sandbox supplier: the whole supplier contract (docs: the supplier API spec) over real HTTP.

Test and demo equipment, never used in production. Pure Python: it needs neither Django
models nor settings, so a test can run it in-process::

    with SandboxSupplier(SandboxConfig(skus=500, webhook_url=receiver_url)) as sandbox:
        requests.get(f"{sandbox.base_url}/v1/inventory", headers=...)
"""

from .config import Faults, SandboxConfig
from .server import SandboxSupplier
from .state import luhn_check_digit

__all__ = ["Faults", "SandboxConfig", "SandboxSupplier", "luhn_check_digit"]
