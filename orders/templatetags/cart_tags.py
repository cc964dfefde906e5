from django import template

from orders.cart import cart_item_count

register = template.Library()


@register.simple_tag(takes_context=True)
def cart_count(context) -> int:
    """Units in the signed-in user's cart, for the navigation bar."""
    request = context.get("request")
    return cart_item_count(request.session) if request is not None else 0
