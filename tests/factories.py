"""factory_boy factories for every model; tests build rows only through these."""

from collections.abc import Sequence

import factory
from django.core.files.base import ContentFile
from factory.django import DjangoModelFactory

from accounts.models import User
from catalog.models import Mood, Song
from detection.models import Detection, DetectionStatus, Outcome
from ml.runtime.labels import LABELS
from recommendations.models import Rating
from tests.detection.images import image_bytes

TEST_PASSWORD = "a-long-test-passphrase-42"


class UserFactory(DjangoModelFactory):
    """A listener whose password is TEST_PASSWORD; `staff=True` runs the site (staff and superuser)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        staff = factory.Trait(is_staff=True, is_superuser=True)

    username = factory.Sequence(lambda n: f"listener{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save_password(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.save()


class MoodFactory(DjangoModelFactory):
    class Meta:
        model = Mood
        django_get_or_create = ("name",)

    name = "Happy"


class SongFactory(DjangoModelFactory):
    class Meta:
        model = Song

    spotify_id = factory.Sequence(lambda n: f"{n:022d}"[-22:])
    name = factory.Sequence(lambda n: f"Song {n}")
    album = factory.Sequence(lambda n: f"Album {n}")
    artist = factory.Sequence(lambda n: f"Artist {n}")
    release_date = "1999-01-01"
    release_year = 1999
    popularity = 50
    length_ms = 200_000
    danceability = factory.Faker("pyfloat", min_value=0, max_value=1)
    acousticness = factory.Faker("pyfloat", min_value=0, max_value=1)
    energy = factory.Faker("pyfloat", min_value=0, max_value=1)
    instrumentalness = factory.Faker("pyfloat", min_value=0, max_value=1)
    liveness = factory.Faker("pyfloat", min_value=0, max_value=1)
    valence = factory.Faker("pyfloat", min_value=0, max_value=1)
    loudness = -8.0
    speechiness = factory.Faker("pyfloat", min_value=0, max_value=1)
    tempo = 120.0
    key = 5
    time_signature = 4
    mood = factory.SubFactory(MoodFactory)
    genre = "pop"


def probabilities(**shares: float) -> dict[str, float]:
    """The seven labels' shares: the given ones, 0 for the rest."""
    return {label: 0.0 for label in LABELS} | shares


def face(box: Sequence[int], shares: dict[str, float], *, emotion: str = "") -> dict:
    """One face of a reading as the worker stores it; its emotion is its largest share unless given."""
    emotion = emotion or max(shares, key=shares.get)
    return {"box": list(box), "emotion": emotion, "probabilities": shares, "score": 1.0, "fallback": False}


class DetectionFactory(DjangoModelFactory):
    """A detection, queued unless a trait says otherwise.

    `finished=True` is the worker's reading of a stored photo of `size`: the main face at `box` with `shares`
    its probabilities (the largest its emotion unless `emotion` is given), then any `others` as (box, shares).
    `photo` is the stored file's bytes (None stores none). `processing=True` is one the worker holds,
    `failed=True` one it gave up.
    """

    class Meta:
        model = Detection

    class Params:
        shares = factory.LazyFunction(lambda: probabilities(happy=0.8, neutral=0.2))
        box = (10, 20, 100, 120)
        others = ()
        size = (240, 180)
        photo = None
        finished = factory.Trait(
            status=DetectionStatus.DONE,
            emotion=factory.LazyAttribute(lambda detection: max(detection.shares, key=detection.shares.get)),
            confidence=factory.LazyAttribute(lambda detection: detection.shares[detection.emotion]),
            probabilities=factory.SelfAttribute("shares"),
            faces=factory.LazyAttribute(
                lambda detection: [
                    face(detection.box, detection.shares, emotion=detection.emotion),
                    *(face(box, shares) for box, shares in detection.others),
                ]
            ),
            image_width=factory.LazyAttribute(lambda detection: detection.size[0]),
            image_height=factory.LazyAttribute(lambda detection: detection.size[1]),
            photo=factory.LazyAttribute(lambda detection: image_bytes(size=detection.size)),
            model_version="emotion-test-model",
        )
        failed = factory.Trait(status=DetectionStatus.FAILED, error="That file is not a photo.")
        processing = factory.Trait(status=DetectionStatus.PROCESSING)

    user = factory.SubFactory(UserFactory)
    status = DetectionStatus.QUEUED
    image = factory.LazyAttribute(
        lambda detection: ContentFile(detection.photo, name="photo.jpg") if detection.photo is not None else ""
    )


class RatingFactory(DjangoModelFactory):
    class Meta:
        model = Rating

    user = factory.SubFactory(UserFactory)
    song = factory.SubFactory(SongFactory)
    score = 4


class OutcomeFactory(DjangoModelFactory):
    class Meta:
        model = Outcome

    detection = factory.SubFactory(DetectionFactory, status=DetectionStatus.DONE)
    strategy = factory.LazyAttribute(lambda outcome: outcome.detection.user.strategy)
    mood_before = 2
    mood_after = 4
