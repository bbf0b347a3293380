"""The site's own table: the fixed-window rate limits' counts (emomusic_site.ratelimit)."""

from django.db import models


class RateLimitWindow(models.Model):
    """The attempts one client or account made in one fixed window of one rate limit.

    Counted by one atomic statement an attempt (`ratelimit.rate_limit_hit`); a window's row goes once it has
    expired, when the first attempt of a later window is counted.
    """

    # "<scope>:<32 hex digits of the key's SHA-256>:<window number>"
    name = models.CharField(max_length=120, primary_key=True)
    attempts = models.PositiveIntegerField()
    expires_at = models.BigIntegerField(db_index=True, help_text="Unix time at which the window ends.")

    def __str__(self) -> str:
        return f"{self.name}: {self.attempts}"
