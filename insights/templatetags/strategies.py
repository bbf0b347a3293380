"""`{{ outcome.strategy|strategy_label }}`: a strategy as the site names it ("uplift" -> "Lift my mood")."""

from django import template

from accounts.models import Strategy

register = template.Library()


@register.filter
def strategy_label(value: str) -> str:
    return Strategy(value).label if value in Strategy.values else value
