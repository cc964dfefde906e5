"""A generated, deterministic phone catalogue, kept sorted by SKU so a page is a slice."""

import base64
import binascii
import bisect
import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Iterator

from .errors import SupplierError
from .formats import format_money, format_time, utc_now


@dataclass(frozen=True)
class PhoneModel:
    manufacturer: str
    code: str
    name: str
    # Wholesale price of the smallest storage, grade A+, unlocked, in USD.
    base_price: int
    storages: tuple[int, ...]
    colors: tuple[str, ...]


_APPLE_11 = ("Black", "White", "Red", "Yellow", "Purple", "Green")
_APPLE_11_PRO = ("Space Gray", "Silver", "Gold", "Midnight Green")
_APPLE_12 = ("Black", "White", "Red", "Green", "Blue", "Purple")
_APPLE_12_PRO = ("Graphite", "Silver", "Gold", "Pacific Blue")
_APPLE_13 = ("Midnight", "Starlight", "Blue", "Pink", "Red", "Green")
_APPLE_13_PRO = ("Graphite", "Silver", "Gold", "Sierra Blue", "Alpine Green")
_APPLE_14 = ("Midnight", "Starlight", "Blue", "Purple", "Red", "Yellow")
_APPLE_14_PRO = ("Space Black", "Silver", "Gold", "Deep Purple")
_APPLE_15 = ("Black", "Blue", "Green", "Yellow", "Pink")
_APPLE_15_PRO = ("Black Titanium", "White Titanium", "Blue Titanium", "Natural Titanium")
_APPLE_16 = ("Black", "White", "Pink", "Teal", "Ultramarine")
_APPLE_16_PRO = ("Black Titanium", "White Titanium", "Natural Titanium", "Desert Titanium")
_S21 = ("Phantom Gray", "Phantom White", "Phantom Violet", "Phantom Pink")
_S21_PLUS = ("Phantom Black", "Phantom Silver", "Phantom Violet")
_S22 = ("Phantom Black", "Phantom White", "Green", "Pink Gold")
_S23 = ("Phantom Black", "Cream", "Green", "Lavender")
_S24 = ("Onyx Black", "Marble Grey", "Cobalt Violet", "Amber Yellow")
_A_AWESOME = ("Awesome Navy", "Awesome Iceblue", "Awesome Lilac")

PHONE_MODELS: tuple[PhoneModel, ...] = (
    PhoneModel("Apple", "IP11", "iPhone 11", 190, (64, 128, 256), _APPLE_11),
    PhoneModel("Apple", "IP11P", "iPhone 11 Pro", 250, (64, 256, 512), _APPLE_11_PRO),
    PhoneModel("Apple", "IP11PM", "iPhone 11 Pro Max", 290, (64, 256, 512), _APPLE_11_PRO),
    PhoneModel("Apple", "IP12M", "iPhone 12 mini", 210, (64, 128, 256), _APPLE_12),
    PhoneModel("Apple", "IP12", "iPhone 12", 260, (64, 128, 256), _APPLE_12),
    PhoneModel("Apple", "IP12P", "iPhone 12 Pro", 330, (128, 256, 512), _APPLE_12_PRO),
    PhoneModel("Apple", "IP12PM", "iPhone 12 Pro Max", 380, (128, 256, 512), _APPLE_12_PRO),
    PhoneModel("Apple", "IP13M", "iPhone 13 mini", 300, (128, 256, 512), _APPLE_13),
    PhoneModel("Apple", "IP13", "iPhone 13", 360, (128, 256, 512), _APPLE_13),
    PhoneModel("Apple", "IP13P", "iPhone 13 Pro", 460, (128, 256, 512, 1024), _APPLE_13_PRO),
    PhoneModel("Apple", "IP13PM", "iPhone 13 Pro Max", 520, (128, 256, 512, 1024), _APPLE_13_PRO),
    PhoneModel("Apple", "IP14", "iPhone 14", 420, (128, 256, 512), _APPLE_14),
    PhoneModel("Apple", "IP14PL", "iPhone 14 Plus", 470, (128, 256, 512), _APPLE_14),
    PhoneModel("Apple", "IP14P", "iPhone 14 Pro", 580, (128, 256, 512, 1024), _APPLE_14_PRO),
    PhoneModel("Apple", "IP14PM", "iPhone 14 Pro Max", 650, (128, 256, 512, 1024), _APPLE_14_PRO),
    PhoneModel("Apple", "IP15", "iPhone 15", 540, (128, 256, 512), _APPLE_15),
    PhoneModel("Apple", "IP15PL", "iPhone 15 Plus", 600, (128, 256, 512), _APPLE_15),
    PhoneModel("Apple", "IP15P", "iPhone 15 Pro", 720, (128, 256, 512, 1024), _APPLE_15_PRO),
    PhoneModel("Apple", "IP15PM", "iPhone 15 Pro Max", 820, (256, 512, 1024), _APPLE_15_PRO),
    PhoneModel("Apple", "IP16", "iPhone 16", 640, (128, 256, 512), _APPLE_16),
    PhoneModel("Apple", "IP16PL", "iPhone 16 Plus", 700, (128, 256, 512), _APPLE_16),
    PhoneModel("Apple", "IP16P", "iPhone 16 Pro", 840, (128, 256, 512, 1024), _APPLE_16_PRO),
    PhoneModel("Apple", "IP16PM", "iPhone 16 Pro Max", 940, (256, 512, 1024), _APPLE_16_PRO),
    PhoneModel("Samsung", "S21", "Galaxy S21", 180, (128, 256), _S21),
    PhoneModel("Samsung", "S21P", "Galaxy S21+", 220, (128, 256), _S21_PLUS),
    PhoneModel("Samsung", "S21U", "Galaxy S21 Ultra", 290, (128, 256, 512),
               ("Phantom Black", "Phantom Silver")),
    PhoneModel("Samsung", "S22", "Galaxy S22", 250, (128, 256), _S22),
    PhoneModel("Samsung", "S22P", "Galaxy S22+", 290, (128, 256), _S22),
    PhoneModel("Samsung", "S22U", "Galaxy S22 Ultra", 380, (128, 256, 512, 1024),
               ("Phantom Black", "Phantom White", "Burgundy", "Green")),
    PhoneModel("Samsung", "S23", "Galaxy S23", 360, (128, 256, 512), _S23),
    PhoneModel("Samsung", "S23P", "Galaxy S23+", 420, (256, 512), _S23),
    PhoneModel("Samsung", "S23U", "Galaxy S23 Ultra", 560, (256, 512, 1024), _S23),
    PhoneModel("Samsung", "S24", "Galaxy S24", 480, (128, 256, 512), _S24),
    PhoneModel("Samsung", "S24P", "Galaxy S24+", 560, (256, 512), _S24),
    PhoneModel("Samsung", "S24U", "Galaxy S24 Ultra", 760, (256, 512, 1024),
               ("Titanium Black", "Titanium Gray", "Titanium Violet", "Titanium Yellow")),
    PhoneModel("Samsung", "A14", "Galaxy A14 5G", 70, (64, 128),
               ("Black", "Light Green", "Dark Red", "Silver")),
    PhoneModel("Samsung", "A15", "Galaxy A15 5G", 90, (128,),
               ("Blue Black", "Light Blue", "Yellow")),
    PhoneModel("Samsung", "A25", "Galaxy A25 5G", 130, (128, 256),
               ("Blue Black", "Blue", "Yellow")),
    PhoneModel("Samsung", "A35", "Galaxy A35 5G", 190, (128, 256), _A_AWESOME),
    PhoneModel("Samsung", "A54", "Galaxy A54 5G", 180, (128, 256),
               ("Awesome Graphite", "Awesome White", "Awesome Violet", "Awesome Lime")),
    PhoneModel("Samsung", "A55", "Galaxy A55 5G", 230, (128, 256), _A_AWESOME),
    PhoneModel("Google", "PX6", "Pixel 6", 150, (128, 256),
               ("Stormy Black", "Sorta Seafoam", "Kinda Coral")),
    PhoneModel("Google", "PX6P", "Pixel 6 Pro", 200, (128, 256, 512),
               ("Stormy Black", "Cloudy White", "Sorta Sunny")),
    PhoneModel("Google", "PX6A", "Pixel 6a", 110, (128,), ("Charcoal", "Chalk", "Sage")),
    PhoneModel("Google", "PX7", "Pixel 7", 210, (128, 256), ("Obsidian", "Snow", "Lemongrass")),
    PhoneModel("Google", "PX7P", "Pixel 7 Pro", 280, (128, 256, 512),
               ("Obsidian", "Snow", "Hazel")),
    PhoneModel("Google", "PX7A", "Pixel 7a", 170, (128,), ("Charcoal", "Snow", "Sea", "Coral")),
    PhoneModel("Google", "PX8", "Pixel 8", 300, (128, 256), ("Obsidian", "Hazel", "Rose", "Mint")),
    PhoneModel("Google", "PX8P", "Pixel 8 Pro", 420, (128, 256, 512, 1024),
               ("Obsidian", "Porcelain", "Bay", "Mint")),
    PhoneModel("Google", "PX8A", "Pixel 8a", 260, (128, 256),
               ("Obsidian", "Porcelain", "Bay", "Aloe")),
)

MANUFACTURER_CODES = {"Apple": "APL", "Samsung": "SAM", "Google": "GOO"}
COLOR_CODES = {
    "Black": "BLK", "White": "WHT", "Red": "RED", "Yellow": "YEL", "Purple": "PUR", "Green": "GRN",
    "Space Gray": "SGY", "Silver": "SLV", "Gold": "GLD", "Midnight Green": "MGN", "Blue": "BLU",
    "Graphite": "GPH", "Pacific Blue": "PBL", "Midnight": "MDN", "Starlight": "STL", "Pink": "PNK",
    "Sierra Blue": "SBL", "Alpine Green": "AGN", "Space Black": "SBK", "Deep Purple": "DPU",
    "Black Titanium": "BTI", "White Titanium": "WTI", "Blue Titanium": "LTI",
    "Natural Titanium": "NTI", "Desert Titanium": "DTI", "Teal": "TEL", "Ultramarine": "ULM",
    "Phantom Gray": "PGY", "Phantom White": "PWH", "Phantom Violet": "PVI", "Phantom Pink": "PPK",
    "Phantom Black": "PBK", "Phantom Silver": "PSL", "Pink Gold": "PKG", "Burgundy": "BUR",
    "Cream": "CRM", "Lavender": "LAV", "Onyx Black": "OBK", "Marble Grey": "MGY",
    "Cobalt Violet": "CVI", "Amber Yellow": "AYL", "Titanium Black": "TBK", "Titanium Gray": "TGY",
    "Titanium Violet": "TVI", "Titanium Yellow": "TYL", "Light Green": "LGN", "Dark Red": "DRD",
    "Blue Black": "BBK", "Light Blue": "LBL", "Awesome Navy": "ANV", "Awesome Iceblue": "AIB",
    "Awesome Lilac": "ALI", "Awesome Graphite": "AGR", "Awesome White": "AWH",
    "Awesome Violet": "AVI", "Awesome Lime": "ALM", "Stormy Black": "STB", "Sorta Seafoam": "SSF",
    "Kinda Coral": "KCO", "Cloudy White": "CWH", "Sorta Sunny": "SSN", "Charcoal": "CHR",
    "Chalk": "CHK", "Sage": "SAG", "Obsidian": "OBS", "Snow": "SNW", "Lemongrass": "LMG",
    "Hazel": "HZL", "Sea": "SEA", "Coral": "CRL", "Rose": "ROS", "Mint": "MNT", "Porcelain": "PRC",
    "Bay": "BAY", "Aloe": "ALO",
}
# Grade -> (SKU code, share of the A+ price). Best first; AB and Functional are the rare ones.
STANDARD_GRADES = {"A+": ("AP", 1.00), "A": ("A", 0.92), "B+": ("BP", 0.85), "B": ("B", 0.78),
                   "C": ("C", 0.66), "D": ("D", 0.52)}
UNUSUAL_GRADES = {"AB": ("AB", 0.82), "Functional": ("FN", 0.40)}
UNUSUAL_GRADE_SHARE = 0.03
# Carrier-locked phones sell for less than unlocked ones.
CARRIERS = {"Unlocked": ("UNL", 1.00), "AT&T": ("ATT", 0.93), "Verizon": ("VZW", 0.95),
            "T-Mobile": ("TMO", 0.92)}
# Partner stock ships slower with a basic warranty, so it is a little cheaper.
WAREHOUSES = {"wsc-direct": ("", 1.00), "supplier-direct": ("-SD", 0.95)}
STORAGE_STEP_FACTOR = 1.13
OUT_OF_STOCK_SHARE = 0.12


@dataclass(slots=True)
class CatalogueItem:
    sku: str
    manufacturer: str
    model: str
    storage_gb: int
    color: str
    grade: str
    carrier: str
    warehouse: str
    quantity: int
    unit_price: Decimal
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "sku": self.sku, "manufacturer": self.manufacturer, "model": self.model,
            "storage_gb": self.storage_gb, "color": self.color, "grade": self.grade,
            "carrier": self.carrier, "warehouse": self.warehouse, "quantity": self.quantity,
            "unit_price": format_money(self.unit_price), "currency": "USD",
            "updated_at": format_time(self.updated_at),
        }


@dataclass(frozen=True)
class InventoryCursor:
    """Where the next page starts (after this SKU), its number, and the feed's filter."""

    after_sku: str
    page: int
    updated_since: str | None = None

    def encode(self) -> str:
        data = {"a": self.after_sku, "p": self.page}
        if self.updated_since:
            data["s"] = self.updated_since
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "InventoryCursor":
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            data = json.loads(raw)
            cursor = cls(after_sku=data["a"], page=data["p"], updated_since=data.get("s"))
        except (binascii.Error, ValueError, TypeError, KeyError) as exc:
            raise SupplierError("invalid_request", "cursor is not one this feed issued") from exc
        if not isinstance(cursor.after_sku, str) or not isinstance(cursor.page, int):
            raise SupplierError("invalid_request", "cursor is not one this feed issued")
        return cursor


@dataclass(frozen=True)
class _Variant:
    model: PhoneModel
    storage_gb: int
    color: str
    price: float


class Catalogue:
    """Items sorted by SKU, with a parallel list of SKUs for bisecting a cursor."""

    def __init__(self, items: list[CatalogueItem]):
        self._items = sorted(items, key=lambda item: item.sku)
        self._skus = [item.sku for item in self._items]
        self._by_sku = {item.sku: item for item in self._items}

    @classmethod
    def generate(cls, *, size: int, seed: int, unusual_grades: bool = False,
                 now: datetime | None = None) -> "Catalogue":
        """`size` distinct items, the same for the same seed (only their times follow `now`)."""
        rng = random.Random(f"{seed}:catalogue")
        now = now or utc_now()
        variants = _variants(rng)
        unusual_count = round(size * UNUSUAL_GRADE_SHARE) if unusual_grades else 0
        items: list[CatalogueItem] = []
        for grades, count in ((STANDARD_GRADES, size - unusual_count),
                              (UNUSUAL_GRADES, unusual_count)):
            items.extend(_sample_items(rng, variants, grades, count, now))
        return cls(items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[CatalogueItem]:
        return iter(self._items)

    def get(self, sku: str) -> CatalogueItem | None:
        return self._by_sku.get(sku)

    def remove(self, sku: str) -> bool:
        item = self._by_sku.pop(sku, None)
        if item is None:
            return False
        index = bisect.bisect_left(self._skus, sku)
        del self._items[index], self._skus[index]
        return True

    def page(self, *, after_sku: str | None, limit: int,
             updated_since: datetime | None) -> tuple[list[CatalogueItem], bool]:
        """Up to `limit` items after `after_sku`, and whether more follow."""
        start = bisect.bisect_right(self._skus, after_sku) if after_sku is not None else 0
        if updated_since is None:
            return self._items[start:start + limit], start + limit < len(self._items)
        # One match beyond the page tells whether another page exists; the scan stops there,
        # so a whole pass over the feed reads each item about twice at most.
        matches: list[CatalogueItem] = []
        for index in range(start, len(self._items)):
            item = self._items[index]
            if item.updated_at >= updated_since:
                matches.append(item)
                if len(matches) > limit:
                    break
        return matches[:limit], len(matches) > limit


def _variants(rng: random.Random) -> list[_Variant]:
    variants = []
    for model in PHONE_MODELS:
        for step, storage_gb in enumerate(model.storages):
            for color in model.colors:
                # A small spread per variant (popular colours sell higher), well inside the
                # storage step, so more storage always costs more.
                spread = rng.uniform(-0.015, 0.015)
                price = model.base_price * STORAGE_STEP_FACTOR ** step * (1 + spread)
                variants.append(_Variant(model, storage_gb, color, price))
    return variants


def _sample_items(rng: random.Random, variants: list[_Variant],
                  grades: dict[str, tuple[str, float]], count: int,
                  now: datetime) -> list[CatalogueItem]:
    """`count` distinct (variant, grade, carrier, warehouse, lot) combinations.

    When `count` exceeds the distinct specifications, further lots of the same specification
    are stocked under their own SKU (`-L2`, `-L3` ...), as a wholesaler does with separate buys.
    """
    if count <= 0:
        return []
    grade_list = list(grades.items())
    carrier_list = list(CARRIERS.items())
    warehouse_list = list(WAREHOUSES.items())
    per_variant = len(grade_list) * len(carrier_list) * len(warehouse_list)
    specifications = len(variants) * per_variant
    lots = math.ceil(count / specifications)
    lot_spreads: dict[tuple[int, int], float] = {}
    items = []
    for index in sorted(rng.sample(range(specifications * lots), count)):
        lot, specification = divmod(index, specifications)
        variant_index, rest = divmod(specification, per_variant)
        grade_index, rest = divmod(rest, len(carrier_list) * len(warehouse_list))
        carrier_index, warehouse_index = divmod(rest, len(warehouse_list))
        variant = variants[variant_index]
        grade, (grade_code, grade_factor) = grade_list[grade_index]
        carrier, (carrier_code, carrier_factor) = carrier_list[carrier_index]
        warehouse, (warehouse_suffix, warehouse_factor) = warehouse_list[warehouse_index]
        spread = 0.0
        if lot:
            spread = lot_spreads.setdefault((variant_index, lot), rng.uniform(-0.02, 0.02))
        price = variant.price * grade_factor * carrier_factor * warehouse_factor * (1 + spread)
        model = variant.model
        sku = (f"{MANUFACTURER_CODES[model.manufacturer]}-{model.code}-{variant.storage_gb}-"
               f"{COLOR_CODES[variant.color]}-{grade_code}-{carrier_code}{warehouse_suffix}"
               f"{f'-L{lot + 1}' if lot else ''}")
        items.append(CatalogueItem(
            sku=sku, manufacturer=model.manufacturer, model=model.name,
            storage_gb=variant.storage_gb, color=variant.color, grade=grade, carrier=carrier,
            warehouse=warehouse, quantity=_stock_quantity(rng), unit_price=_round_price(price),
            updated_at=now - timedelta(seconds=rng.randrange(3600, 30 * 86400)),
        ))
    return items


def _stock_quantity(rng: random.Random) -> int:
    if rng.random() < OUT_OF_STOCK_SHARE:
        return 0
    return min(int(rng.expovariate(1 / 80)) + 1, 1500)


def _round_price(price: float) -> Decimal:
    """To the nearest half dollar, as wholesale lists are priced."""
    return (Decimal(round(price * 2)) / 2).quantize(Decimal("0.01"))


def shifted_price(price: Decimal, rng: random.Random) -> Decimal:
    """A new price a few percent away from `price`, never equal to it and never below $1."""
    factor = 1 + rng.choice((-1, 1)) * rng.uniform(0.02, 0.08)
    new_price = max(_round_price(float(price) * factor), Decimal("1.00"))
    return new_price if new_price != price else price + Decimal("0.50")
