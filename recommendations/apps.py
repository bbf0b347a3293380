from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"

    def ready(self) -> None:
        # The seams through which detection, a lower layer, gets what only this
        # app knows: the mood of a detection, and what deleting one means for
        # the ratings made from it.
        from django.db.models.signals import pre_delete

        from detection.models import Detection
        from detection.selectors import mood_chooser_register
        from recommendations.selectors import detection_moods_choose
        from recommendations.services import ratings_detach

        mood_chooser_register(detection_moods_choose)
        pre_delete.connect(ratings_detach, sender=Detection, dispatch_uid="recommendations.ratings_detach")
