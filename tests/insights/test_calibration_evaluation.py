from io import StringIO

import numpy as np
from django.core.management import call_command

from insights import calibration_evaluation as evaluation


def test_the_simulated_model_is_fer_like():
    assert np.allclose(evaluation.FER_CONFUSION.sum(axis=1), 1.0)
    accuracy = np.trace(evaluation.FER_CONFUSION) / len(evaluation.LABELS)
    assert 0.55 < accuracy < 0.75


def test_calibration_helps_biased_users_and_does_not_hurt_the_others():
    biased, unbiased = evaluation.evaluate(evaluation.Settings(users=30, detections=40, seed=1))
    assert biased.plain.total == biased.calibrated.total == 30 * 40
    assert biased.calibrated.accuracy > biased.plain.accuracy + 0.03
    assert unbiased.calibrated.accuracy > unbiased.plain.accuracy - 0.01


def test_the_command_writes_the_report(tmp_path):
    out, target = StringIO(), tmp_path / "calibration.md"
    call_command(
        "evaluate_calibration", "--users", "6", "--detections", "20", "--no-sweep", "--out", str(target), stdout=out
    )
    report = target.read_text()
    assert report.startswith("# Per-user calibration")
    assert "| users with a consistent bias |" in report and "| users without one |" in report
    assert "accuracy" in out.getvalue() and str(target) in out.getvalue()
