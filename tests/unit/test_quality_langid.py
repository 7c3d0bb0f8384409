"""Quality estimation by dual conditional cross-entropy, and offline language ID."""

import math

import pytest

from memkd.langid import identify, languages_match
from memkd.metrics.quality import cross_entropy, dual_xent_quality, dual_xent_score


def test_cross_entropy_is_the_mean_negative_log_probability():
    assert cross_entropy(-6.0, 3) == 2.0
    with pytest.raises(ValueError, match="at least one token"):
        cross_entropy(0.0, 0)


def test_dual_xent_penalises_disagreement_between_the_directions():
    # agreeing models: score is the mean cross-entropy
    assert dual_xent_score(1.0, 1.0) == 1.0
    # same mean, but the directions disagree: |2 - 0| + 1 = 3
    assert dual_xent_score(2.0, 0.0) == 3.0
    assert dual_xent_quality(1.0, 1.0) == pytest.approx(math.exp(-1.0))
    assert dual_xent_quality(0.0, 0.0) == 1.0
    assert dual_xent_quality(2.0, 0.0) < dual_xent_quality(1.0, 1.0)


def test_language_id_tells_the_study_languages_apart_offline():
    english = "In the beginning, God created the heavens and the earth."
    spanish = "En el principio creó Dios los cielos y la tierra."
    assert identify([english, spanish]) == ["en", "es"]
    assert languages_match([english, english], [spanish, english], "en", "es") == [True, False]
