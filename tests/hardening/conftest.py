"""What the hardening tests walk: every route the site resolves."""

from django.urls import URLPattern, URLResolver, get_resolver


def resolved_routes(*, except_included_under: str = "") -> list[str]:
    """Every route Django resolves, joined from the root with the regex anchors taken out; DRF's ".json"
    variants of the same views are left out, and so are the url confs included under `except_included_under`."""
    routes: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            pattern = str(entry.pattern).replace("^", "").replace("$", "")
            if isinstance(entry, URLResolver):
                if not (except_included_under and (prefix + pattern).startswith(except_included_under)):
                    walk(entry.url_patterns, prefix + pattern)
            elif isinstance(entry, URLPattern):
                routes.append(prefix + pattern)

    walk(get_resolver().url_patterns, "")
    return [route for route in routes if not any(suffix in route for suffix in ("<format>", "<drf_format_suffix"))]
