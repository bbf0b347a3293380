from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as accounts_views
from emomusic_site import views
from insights import urls as insights_urls

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # Before the admin's own URLs, which would otherwise answer this path.
    path("admin/insights/", include("insights.urls")),
    # The admin's log-in, throttled like the site's; before admin.site.urls, which would answer it unthrottled.
    path("admin/login/", accounts_views.admin_login),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/", include("accounts.api_urls")),
    path("api/", include("catalog.api_urls")),
    # Detections, recommendations, ratings and /api/me/: every answer about a selfie carries its songs' mood.
    path("api/", include("recommendations.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # GET only: the page's HTML renderer has no template for an OPTIONS answer (a 500 before).
    # The split view serves Swagger UI's start-up script from ?script, not inline, for the
    # Content-Security-Policy; the one exception to it: Swagger UI's stylesheet draws its icons as
    # data: images, allowed on this page only.
    path(
        "api/docs/",
        csp_update({"img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema", http_method_names=["get", "head"])
        ),
        name="api-docs",
    ),
    # The upload page, a selfie's result, the pick-a-mood list, the account's export and deletion.
    path("", include("recommendations.urls")),
    # History and its actions.
    path("", include(insights_urls.user_urlpatterns)),
    path("", include("catalog.urls")),
]

handler400 = "emomusic_site.errors.bad_request"
handler403 = "emomusic_site.errors.permission_denied"
handler404 = "emomusic_site.errors.page_not_found"
handler500 = "emomusic_site.errors.server_error"
