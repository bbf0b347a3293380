from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "detection"

    def ready(self) -> None:
        # accounts sits below detection: what an account's export and deletion need from here
        # reaches it through the seams accounts offers.
        from accounts.selectors import user_export_register
        from accounts.services import user_deleting
        from detection.selectors import detections_export_for

        user_export_register(lambda user: detections_export_for(user=user))
        user_deleting.connect(_photos_delete, dispatch_uid="detection.photos_delete_for")


def _photos_delete(sender, *, user, **kwargs) -> None:
    from accounts.services import UserDeleteUnavailable
    from detection.services import StorageUnavailable, photos_delete_for

    try:
        photos_delete_for(user=user)
    except StorageUnavailable as exc:
        raise UserDeleteUnavailable(str(exc)) from exc
