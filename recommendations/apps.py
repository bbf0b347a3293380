from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"

    def ready(self) -> None:
        self._one_blas_thread()
        self._forget_the_catalog_matrix_when_the_catalog_changes()

    @staticmethod
    def _one_blas_thread() -> None:
        # The recommender's matrix products are small (thousands of songs by nine features): OpenBLAS's
        # threads cost more to wake than they save, and on a 2-core machine shared by the web processes and
        # the worker they wait on each other. At 28,000 songs they made the p95 of a list several times longer.
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")

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
