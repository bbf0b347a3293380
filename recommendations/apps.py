from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"

    def ready(self) -> None:
        # The seams through which detection, a lower layer, gets what only this
        # app knows: the mood of a detection, and what deleting one means for
        # the ratings made from it.
        from django.db.models.signals import pre_delete

        from accounts.selectors import user_export_register
        from detection.models import Detection
        from detection.selectors import mood_chooser_register
        from recommendations.selectors import detection_moods_choose
        from recommendations.services import ratings_detach

        mood_chooser_register(detection_moods_choose)
        user_export_register(_ratings_export)
        pre_delete.connect(ratings_detach, sender=Detection, dispatch_uid="recommendations.ratings_detach")
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


def _ratings_export(user) -> dict:
    from recommendations.selectors import ratings_export_for

    return ratings_export_for(user=user)
