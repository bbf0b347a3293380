"""factory_boy factories for every model; tests build rows only through these."""

from collections.abc import Sequence

import factory
from django.core.files.base import ContentFile
from factory.django import DjangoModelFactory

from accounts.models import User
from catalog.models import Mood, Song
from detection.models import Detection, DetectionStatus, Outcome
from recommendations.models import Rating

TEST_PASSWORD = "a-long-test-passphrase-42"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

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


class DetectionFactory(DjangoModelFactory):
    class Meta:
        model = Detection

    user = factory.SubFactory(UserFactory)
    status = DetectionStatus.QUEUED


def finished_detection(
    *,
    user: User,
    shares: dict[str, float],
    photo: bytes,
    box: list[int],
    size: tuple[int, int] = (48, 48),
    others: Sequence[tuple[list[int], dict[str, float]]] = (),
) -> Detection:
    """A finished reading of a stored photo of `size`: the main face at `box` with `shares` its probabilities (the
    largest its emotion), then any `others` as (box, shares)."""

    def face(face_box: list[int], face_shares: dict[str, float]) -> dict:
        emotion = max(face_shares, key=face_shares.get)
        return {"box": face_box, "emotion": emotion, "probabilities": face_shares, "score": 1.0, "fallback": False}

    main = face(box, shares)
    detection = Detection(
        user=user,
        status=DetectionStatus.DONE,
        emotion=main["emotion"],
        confidence=shares[main["emotion"]],
        probabilities=shares,
        faces=[main, *(face(other_box, other_shares) for other_box, other_shares in others)],
        image_width=size[0],
        image_height=size[1],
        model_version="emotion-test-model",
    )
    detection.image.save("photo.jpg", ContentFile(photo), save=False)
    detection.save()
    return detection


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
