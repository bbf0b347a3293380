from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"

    def ready(self) -> None:
        self._forget_the_catalog_matrix_when_the_catalog_changes()

    @staticmethod
    def _forget_the_catalog_matrix_when_the_catalog_changes() -> None:
        # Connected here, not where the cache is defined: whichever module a
        # process happens to import, every catalog write reaches the cache.
        from django.db.models.signals import post_delete, post_save

        from catalog.models import Mood, Song
        from catalog.signals import songs_changed
        from recommendations.catalog_cache import catalog_forget

        for model in (Song, Mood):
            post_save.connect(
                catalog_forget, sender=model, dispatch_uid=f"recommendations-forget-{model.__name__}-save"
            )
            post_delete.connect(
                catalog_forget, sender=model, dispatch_uid=f"recommendations-forget-{model.__name__}-delete"
            )
        songs_changed.connect(catalog_forget, dispatch_uid="recommendations-forget-songs-changed")
