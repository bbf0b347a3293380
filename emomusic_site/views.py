from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from emomusic_site import health


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    body = {
        "database": health.database_status(),
        "broker": health.broker_status(),
        "model": health.model_version(),
    }
    healthy = body["database"] == "ok" and body["broker"] == "ok"
    return JsonResponse(body, status=200 if healthy else 503)
