"""Sell prices from supplier costs: which rule applies, and the formula step by step.

Pure functions over rules already loaded (selectors.rule_book loads them), so the sync can price
a hundred thousand items without a query each, and the admin preview shows the same steps.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.utils.translation import gettext as _

from inventory.models import PricingRule

CENT = Decimal("0.01")
_HUNDRED = Decimal("100")
_NINETY_NINE_CENTS = Decimal("0.99")
_UNKNOWN = object()

Level = PricingRule.Level
Rounding = PricingRule.Rounding


class ProductKey(NamedTuple):
    """What rules look at in a product."""

    manufacturer: str
    model_name: str
    grade_id: int | None
    warehouse_id: int | None


@dataclass(frozen=True)
class PriceStep:
    label: str
    amount: Decimal


@dataclass(frozen=True)
class PriceExplanation:
    """How a price came out of a cost: the rule that won and each step."""

    cost: Decimal
    rule: PricingRule | None
    steps: tuple[PriceStep, ...]
    price: Decimal | None  # None: no rule applies, or the formula gave no positive price


class _Conditions(NamedTuple):
    manufacturer: str
    model_name: str
    grade_id: int | None
    warehouse_id: int | None

    def match(self, key: ProductKey) -> bool:
        # Staff type manufacturer and model names; the feed's spelling of their case varies.
        return ((not self.manufacturer or self.manufacturer == key.manufacturer.casefold())
                and (not self.model_name or self.model_name == key.model_name.casefold())
                and (self.grade_id is None or self.grade_id == key.grade_id)
                and (self.warehouse_id is None or self.warehouse_id == key.warehouse_id))


def precedence(rule: PricingRule) -> tuple[int, int, int, int]:
    """Sort key: the first rule that matches wins."""
    return (rule.level, -rule.condition_count, -rule.priority, rule.pk or 0)


class RuleBook:
    """Active rules in precedence order, with the choice of rule and the price memoised.

    Prices for clients with no rule of their own (or of their tier) are the products'
    `sell_price`; the sync and recomputes work them out with `base_price()`.
    """

    def __init__(self, rules: Iterable[PricingRule]):
        self._rules = [(rule, _Conditions(rule.manufacturer.casefold(),
                                          rule.model_name.casefold(), rule.grade_id,
                                          rule.warehouse_id))
                       for rule in sorted(rules, key=precedence) if rule.is_active]
        self._chosen: dict[tuple, PricingRule | None] = {}
        self._base_rules: dict[tuple, PricingRule | None] = {}
        self._prices: dict[tuple[int, Decimal], Decimal | None] = {}

    def rule_for(self, key: ProductKey, *, company_id: int | None = None,
                 tier_id: int | None = None) -> PricingRule | None:
        cache_key = (key, company_id, tier_id)
        if cache_key not in self._chosen:
            self._chosen[cache_key] = next(
                (rule for rule, conditions in self._rules
                 if _applies_to_client(rule, company_id=company_id, tier_id=tier_id)
                 and conditions.match(key)), None)
        return self._chosen[cache_key]

    def base_price(self, manufacturer: str, model_name: str, grade_id: int,
                   warehouse_id: int, cost: Decimal) -> Decimal | None:
        """The price for clients without rules of their own; memoised, for the sync's hot path."""
        # A few rules serve thousands of products: the rule by product, then the price by
        # rule and cost, each worked out once.
        key = (manufacturer, model_name, grade_id, warehouse_id)
        rule = self._base_rules.get(key, _UNKNOWN)
        if rule is _UNKNOWN:
            rule = self._base_rules[key] = self.rule_for(ProductKey(*key))
        if rule is None:
            return None
        price = self._prices.get((rule.id, cost), _UNKNOWN)  # id: pk without the property
        if price is _UNKNOWN:
            price = self.price_with(rule, cost)
        return price

    def price_with(self, rule: PricingRule, cost: Decimal) -> Decimal | None:
        cache_key = (rule.pk, cost)
        if cache_key not in self._prices:
            self._prices[cache_key] = apply_rule(rule, cost)
        return self._prices[cache_key]

    def explain(self, key: ProductKey, cost: Decimal, *, company_id: int | None = None,
                tier_id: int | None = None) -> PriceExplanation:
        rule = self.rule_for(key, company_id=company_id, tier_id=tier_id)
        if rule is None:
            return PriceExplanation(cost=cost, rule=None, price=None,
                                    steps=(PriceStep(_("Supplier cost"), cost),))
        steps: list[PriceStep] = []
        price = apply_rule(rule, cost, steps=steps)
        return PriceExplanation(cost=cost, rule=rule, steps=tuple(steps), price=price)


def _applies_to_client(rule: PricingRule, *, company_id: int | None,
                       tier_id: int | None) -> bool:
    if rule.company_id is not None:
        return rule.company_id == company_id
    if rule.tier_id is not None:
        return rule.tier_id == tier_id
    return True


def apply_rule(rule: PricingRule, cost: Decimal, *,
               steps: list[PriceStep] | None = None) -> Decimal | None:
    """The rule's price for `cost`: formula, floor, cap, then rounding (the cap holds).

    None when the formula gives nothing above zero (a deep negative markup): not for sale.
    `steps`, when given, receives each step for the admin preview.
    """
    explain = steps is not None
    if explain:
        steps.append(PriceStep(_("Supplier cost"), cost))
    if rule.fixed_price is not None:
        if explain:
            steps.append(PriceStep(_("Fixed price"), rule.fixed_price))
        return rule.fixed_price
    price = cost
    if rule.markup_percent is not None:
        price = (price * (1 + rule.markup_percent / _HUNDRED)).quantize(CENT, ROUND_HALF_UP)
        if explain:
            steps.append(PriceStep(_("Markup of %(percent)s %%") % {
                "percent": rule.markup_percent}, price))
    if rule.markup_amount is not None:
        price += rule.markup_amount
        if explain:
            steps.append(PriceStep(_("Plus %(amount)s") % {"amount": rule.markup_amount},
                                   price))
    if rule.floor_price is not None and price < rule.floor_price:
        price = rule.floor_price
        if explain:
            steps.append(PriceStep(_("Raised to the floor"), price))
    if rule.cap_price is not None and price > rule.cap_price:
        price = rule.cap_price
        if explain:
            steps.append(PriceStep(_("Lowered to the cap"), price))
    rounded = round_price(price, rule.rounding)
    if explain and rounded != price:
        steps.append(PriceStep(str(Rounding(rule.rounding).label), rounded))
    if rule.cap_price is not None and rounded > rule.cap_price:
        rounded = rule.cap_price
        if explain:
            steps.append(PriceStep(_("Kept at the cap"), rounded))
    if rounded <= 0:
        if explain:
            steps.append(PriceStep(_("Not for sale: the price is not above zero"), rounded))
        return None
    return rounded


def round_price(price: Decimal, rounding: str) -> Decimal:
    if rounding == Rounding.NEXT_99:
        # Prices are in cents here, so the next .99 at or above is within the same unit.
        return price.to_integral_value(ROUND_FLOOR) + _NINETY_NINE_CENTS
    if rounding == Rounding.NEXT_WHOLE:
        return price.to_integral_value(ROUND_CEILING).quantize(CENT)
    return price.quantize(CENT, ROUND_HALF_UP)
