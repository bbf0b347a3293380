import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from recommendations.models import EmotionPlace, StrategyMove

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("valence", "energy"), [(1.2, 0.5), (0.5, -0.1)])
def test_a_place_off_the_map_is_refused_with_a_sentence(valence, energy):
    place = EmotionPlace.objects.get(emotion="sad")
    place.valence, place.energy = valence, energy

    with pytest.raises(ValidationError, match="Points on the mood map run from 0 to 1"):
        place.full_clean()


def test_the_database_refuses_a_place_off_the_map_too():
    with pytest.raises(IntegrityError):
        EmotionPlace.objects.filter(emotion="sad").update(valence=1.5)


def test_a_move_runs_from_0_to_1_and_match_stays():
    uplift = StrategyMove.objects.get(strategy="uplift")
    uplift.amount = 1.5
    match = StrategyMove.objects.get(strategy="match")
    match.amount = 0.3

    with pytest.raises(ValidationError, match="A move runs from 0"):
        uplift.full_clean()
    with pytest.raises(ValidationError, match="Match my mood keeps the reading where it is"):
        match.full_clean()
