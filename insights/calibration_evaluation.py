"""Offline evaluation of per-user calibration on simulated users (`manage.py evaluate_calibration`).

No real user has corrected enough selfies yet, so users are simulated:

- Each user has their own mix of true emotions (a Dirichlet draw).
- The model misreads faces as a FER-2013 classifier of about 65% accuracy
  does (`FER_CONFUSION`, rows: true emotion, columns: what the model reads).
- A biased user's face adds a habit on top: one true emotion is read as
  another most of the time (their "sad" face reads "neutral").
- The model's output is a FER-like softmax vector: a Dirichlet draw with
  most mass on what it read and some on the true emotion.
- After each detection the user sees the top emotion (calibrated or not)
  and, when it is wrong, corrects it with probability `correct_rate`;
  what they accept (their correction, else what they saw) is what the
  calibration learns from, exactly as in production (`detection.calibration`).

Both arms see the same faces and model outputs; accuracy is measured against
what the user really feels, which is what they say when they correct.
"""

from dataclasses import dataclass, field

import numpy as np

from detection.calibration import MIN_CORRECTIONS, PRIOR_STRENGTH, confusion_estimate, probabilities_calibrate
from ml.runtime.labels import LABELS

K = len(LABELS)
_INDEX = {label: i for i, label in enumerate(LABELS)}

# Rows: true emotion; columns: the model's top reading. Shaped after published
# FER-2013 confusion matrices (happy and surprise easy, fear and sad hard,
# sad/neutral and fear/surprise the usual mix-ups).
FER_CONFUSION = np.array(
    [
        # angry disgust fear happy sad  surprise neutral
        [0.58, 0.01, 0.09, 0.05, 0.12, 0.02, 0.13],  # angry
        [0.15, 0.60, 0.07, 0.04, 0.07, 0.02, 0.05],  # disgust
        [0.10, 0.01, 0.45, 0.04, 0.18, 0.10, 0.12],  # fear
        [0.02, 0.00, 0.02, 0.87, 0.02, 0.02, 0.05],  # happy
        [0.08, 0.00, 0.10, 0.05, 0.52, 0.01, 0.24],  # sad
        [0.03, 0.00, 0.10, 0.04, 0.02, 0.78, 0.03],  # surprise
        [0.05, 0.00, 0.05, 0.06, 0.15, 0.02, 0.67],  # neutral
    ]
)
FER_CONFUSION = FER_CONFUSION / FER_CONFUSION.sum(axis=1, keepdims=True)

# (true emotion, what the model reads it as) habits of individual faces.
BIASES = [
    ("sad", "neutral"),
    ("neutral", "sad"),
    ("angry", "neutral"),
    ("fear", "surprise"),
    ("disgust", "angry"),
    ("happy", "neutral"),
]


@dataclass
class Arm:
    correct: int = 0
    total: int = 0
    corrections: int = 0
    by_window: dict[str, list[int]] = field(default_factory=dict)  # window -> [correct, total]

    def add(self, *, right: bool, window: str) -> None:
        self.correct += right
        self.total += 1
        counts = self.by_window.setdefault(window, [0, 0])
        counts[0] += right
        counts[1] += 1

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else float("nan")


@dataclass
class GroupResult:
    name: str
    users: int
    plain: Arm
    calibrated: Arm
    calibrated_users: int  # users whose calibration switched on at some point
    users_better: int  # users whose own accuracy rose by more than 5 points
    users_worse: int  # ... fell by more than 5 points


@dataclass(frozen=True)
class Settings:
    users: int = 200
    detections: int = 60
    bias_strength: float = 0.7
    correct_rate: float = 0.7
    prior_strength: float = PRIOR_STRENGTH
    min_corrections: int = MIN_CORRECTIONS
    seed: int = 2026


WINDOWS = ((0, 10, "detections 1-10"), (10, 30, "detections 11-30"), (30, 10**9, "detections 31+"))


def _window(index: int) -> str:
    return next(name for low, high, name in WINDOWS if low <= index < high)


def _model_reading(rng: np.random.Generator, *, true: int, read: int) -> np.ndarray:
    """A softmax-like vector: most mass on what the model read, some on the truth, a little everywhere."""
    alpha = np.full(K, 0.3)
    alpha[read] += 4.0
    if true != read:
        alpha[true] += 1.5
    return rng.dirichlet(alpha)


def _simulate_user(rng: np.random.Generator, settings: Settings, *, bias: tuple[str, str] | None):
    """Yield (true emotion, model probabilities) for one user's detections."""
    emotion_mix = rng.dirichlet(np.full(K, 1.0))
    confusion = FER_CONFUSION.copy()
    if bias is not None:
        true, read = _INDEX[bias[0]], _INDEX[bias[1]]
        # Make sure the biased emotion actually happens to this user.
        emotion_mix[true] += 0.3
        emotion_mix /= emotion_mix.sum()
        confusion[true] *= 1 - settings.bias_strength
        confusion[true, read] += settings.bias_strength
    for _ in range(settings.detections):
        true = int(rng.choice(K, p=emotion_mix))
        read = int(rng.choice(K, p=confusion[true]))
        yield true, _model_reading(rng, true=true, read=read)


def _run_arm(readings, settings: Settings, rng: np.random.Generator, *, calibrate: bool) -> tuple[Arm, bool]:
    arm = Arm()
    learnt: list[tuple[np.ndarray, int]] = []
    switched_on = False
    for index, (true, probabilities) in enumerate(readings):
        shown_vector = probabilities
        if calibrate and arm.corrections >= settings.min_corrections:
            switched_on = True
            confusion = confusion_estimate(learnt, prior_strength=settings.prior_strength)
            shown_vector = probabilities_calibrate(probabilities, confusion)
        shown = int(np.argmax(shown_vector))
        arm.add(right=shown == true, window=_window(index))
        accepted = shown
        if shown != true and rng.random() < settings.correct_rate:
            accepted = true
            arm.corrections += 1
        learnt.append((probabilities, accepted))
    return arm, switched_on


def _merge(into: Arm, arm: Arm) -> None:
    into.correct += arm.correct
    into.total += arm.total
    into.corrections += arm.corrections
    for window, (right, total) in arm.by_window.items():
        counts = into.by_window.setdefault(window, [0, 0])
        counts[0] += right
        counts[1] += total


def evaluate(settings: Settings = Settings()) -> list[GroupResult]:
    """Biased and unbiased simulated users, with and without calibration."""
    rng = np.random.default_rng(settings.seed)
    results = []
    for name, biased in (("users with a consistent bias", True), ("users without one", False)):
        plain, calibrated, switched, better, worse = Arm(), Arm(), 0, 0, 0
        for user in range(settings.users):
            bias = BIASES[user % len(BIASES)] if biased else None
            readings = list(_simulate_user(rng, settings, bias=bias))
            # The two arms draw the users' "do I bother correcting?" coin from the same stream.
            coin_seed = int(rng.integers(2**32))
            plain_arm, _ = _run_arm(readings, settings, np.random.default_rng(coin_seed), calibrate=False)
            calibrated_arm, on = _run_arm(readings, settings, np.random.default_rng(coin_seed), calibrate=True)
            _merge(plain, plain_arm)
            _merge(calibrated, calibrated_arm)
            switched += on
            change = calibrated_arm.accuracy - plain_arm.accuracy
            better += change > 0.05
            worse += change < -0.05
        results.append(
            GroupResult(
                name=name,
                users=settings.users,
                plain=plain,
                calibrated=calibrated,
                calibrated_users=switched,
                users_better=better,
                users_worse=worse,
            )
        )
    return results


def prior_sweep(
    priors=(1.0, 4.0, 16.0), min_corrections=(1, 3, 6), **overrides
) -> list[tuple[float, int, float, float]]:
    """(prior strength, minimum corrections, accuracy gain on biased users, gain on unbiased users)."""
    rows = []
    for prior in priors:
        for minimum in min_corrections:
            settings = Settings(prior_strength=prior, min_corrections=minimum, **overrides)
            biased, unbiased = evaluate(settings)
            rows.append(
                (
                    prior,
                    minimum,
                    biased.calibrated.accuracy - biased.plain.accuracy,
                    unbiased.calibrated.accuracy - unbiased.plain.accuracy,
                )
            )
    return rows


def report_markdown(
    settings: Settings, results: list[GroupResult], sweep: list[tuple[float, int, float, float]]
) -> str:
    lines = [
        "# Per-user calibration: accuracy against users' own corrections",
        "",
        "Generated by `python manage.py evaluate_calibration` (insights/calibration_evaluation.py); "
        "the same code as production (`detection/calibration.py`) on simulated users.",
        "",
        "## How it was measured",
        "",
        f"- {settings.users} simulated users with a consistent bias (one true emotion read as another "
        f"{settings.bias_strength:.0%} of the time; pairs {', '.join(f'{a}->{b}' for a, b in BIASES)}) "
        f"and {settings.users} without one, {settings.detections} detections each, seed {settings.seed}.",
        "- The model misreads faces like a ~65% FER-2013 classifier (confusion matrix in the module) and outputs "
        "FER-like softmax vectors (Dirichlet draws, mass on its reading and some on the truth).",
        f"- Users see the top emotion and correct a wrong one {settings.correct_rate:.0%} of the time; "
        "uncorrected detections count as accepted, wrong or not, as in production.",
        f"- Calibration: Dirichlet prior of {settings.prior_strength:g} pseudo-readings per row towards the identity, "
        f"switched on after {settings.min_corrections} corrections, learnt only from that user's earlier detections "
        "(online: detection k is calibrated from detections 1..k-1).",
        "- Accuracy = the shown emotion equals what the user really feels, i.e. what they say when they correct.",
        "",
        "## Results",
        "",
        "| users | without calibration | with calibration | change | corrections made (without -> with) "
        "| users calibrated | users >5 points better / worse |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for group in results:
        lines.append(
            f"| {group.name} | {group.plain.accuracy:.3f} | {group.calibrated.accuracy:.3f} | "
            f"{group.calibrated.accuracy - group.plain.accuracy:+.3f} | "
            f"{group.plain.corrections} -> {group.calibrated.corrections} | "
            f"{group.calibrated_users}/{group.users} | {group.users_better} / {group.users_worse} |"
        )
    lines += ["", "### Over time (accuracy by the detection's position in the user's history)", ""]
    lines += ["| users | window | without | with |", "| --- | --- | --- | --- |"]
    for group in results:
        for _, _, window in WINDOWS:
            plain = group.plain.by_window.get(window, [0, 0])
            calibrated = group.calibrated.by_window.get(window, [0, 0])
            if plain[1]:
                lines.append(
                    f"| {group.name} | {window} | {plain[0] / plain[1]:.3f} | {calibrated[0] / calibrated[1]:.3f} |"
                )
    lines += [
        "",
        "## Choosing the prior and the threshold",
        "",
        "Accuracy change (with minus without) for other settings, same simulated users:",
        "",
        "| prior strength | min corrections | biased users | unbiased users |",
        "| --- | --- | --- | --- |",
    ]
    for prior, minimum, biased_gain, unbiased_gain in sweep:
        lines.append(f"| {prior:g} | {minimum} | {biased_gain:+.3f} | {unbiased_gain:+.3f} |")
    lines += [
        "",
        "## Caveats",
        "",
        "- Simulated users, not real ones: the size of the gain depends on how strong and how consistent a real "
        "face's habit is, and on how often real users bother to correct. Re-run on real corrections once there are "
        "enough (the dashboard's confusion matrix shows them).",
        "- Calibration also learns the user's own emotion mix (a user who is often sad gets sad more readily); for "
        "users without a face habit this is what moves their accuracy.",
        "",
    ]
    return "\n".join(lines)
