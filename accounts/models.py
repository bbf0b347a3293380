from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower

from accounts.validators import username_validate_unlike


class Strategy(models.TextChoices):
    MATCH = "match", "Match my mood"
    UPLIFT = "uplift", "Lift my mood"
    CALM = "calm", "Calm me down"


class PhotoRetention(models.TextChoices):
    DELETE_AFTER_ANALYSIS = "delete", "Delete the photo as soon as it is analysed"
    KEEP_24_HOURS = "24h", "Keep it for 24 hours"
    KEEP = "keep", "Keep it until I delete it"


class User(AbstractUser):
    strategy = models.CharField(max_length=10, choices=Strategy.choices, default=Strategy.MATCH)
    photo_retention = models.CharField(
        max_length=10, choices=PhotoRetention.choices, default=PhotoRetention.KEEP_24_HOURS
    )
    share_photos_for_training = models.BooleanField(
        default=False,
        help_text="Allow the face crops of detections you corrected to be used to improve the model.",
    )

    class Meta:
        constraints = [
            # "Alice" and "alice" are the same person to everyone reading the site.
            models.UniqueConstraint(
                Lower("username"),
                name="user_username_case_insensitive_unique",
                violation_error_message="A user with that username already exists.",
            ),
            models.CheckConstraint(condition=models.Q(strategy__in=Strategy.values), name="user_strategy_valid"),
            models.CheckConstraint(
                condition=models.Q(photo_retention__in=PhotoRetention.values),
                name="user_photo_retention_valid",
            ),
        ]

    def clean(self) -> None:
        """A new or changed username must not read as another user's (sign-up and the admin both come here)."""
        super().clean()
        if not self.username:
            return
        users = type(self).objects
        if self.pk is not None and users.filter(pk=self.pk, username=self.username).exists():
            # Unchanged: two names that read alike from before the rule still let either account be edited.
            return
        # Every other user's name, because a skeleton cannot be looked up in the database: about a
        # quarter of a second for 100,000 users, paid once per account created or renamed.
        others = users.exclude(pk=self.pk).values_list("username", flat=True).iterator(chunk_size=5000)
        username_validate_unlike(self.username, others=others)
