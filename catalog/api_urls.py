from rest_framework.routers import SimpleRouter

from catalog.api import SongViewSet

router = SimpleRouter()
router.register("songs", SongViewSet, basename="song")

urlpatterns = router.urls
