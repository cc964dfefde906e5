from django import template

from phoneexport import selectors

register = template.Library()


@register.simple_tag
def desk_attention():
    """What the wholesale desk must look at, for the admin's front page."""
    return selectors.desk_attention()
