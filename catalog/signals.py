"""What the catalog tells the apps above it, without knowing who listens.

Song.save() and delete() send Django's own post_save and post_delete. Writes
that bypass them (the importer's bulk inserts and updates, the mood map's regions
filling moods, the admin setting many songs' mood at once) send
`songs_changed` when their transaction has committed. The recommendations app
connects its catalog cache to all of these in its AppConfig.ready().
"""

from django.db import transaction
from django.dispatch import Signal

from catalog.models import Song

songs_changed = Signal()


def songs_changed_send() -> None:
    """Send `songs_changed` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: songs_changed.send(sender=Song))
