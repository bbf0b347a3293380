from pathlib import Path

from django.conf import settings as django_settings
from django.core.management.base import BaseCommand

from insights.calibration_evaluation import Settings, evaluate, prior_sweep, report_markdown


class Command(BaseCommand):
    help = "Measure per-user calibration on simulated users and write reports/calibration.md."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--users", type=int, default=Settings.users, help="simulated users per group")
        parser.add_argument("--detections", type=int, default=Settings.detections, help="detections per user")
        parser.add_argument("--seed", type=int, default=Settings.seed)
        parser.add_argument("--out", type=Path, default=Path(django_settings.BASE_DIR) / "reports" / "calibration.md")
        parser.add_argument("--no-sweep", action="store_true", help="skip the prior/threshold sweep")

    def handle(self, *args, users: int, detections: int, seed: int, out: Path, no_sweep: bool, **options) -> None:
        if users < 1 or detections < 1:
            self.stderr.write("--users and --detections must be at least 1.")
            raise SystemExit(2)
        settings = Settings(users=users, detections=detections, seed=seed)
        results = evaluate(settings)
        sweep = [] if no_sweep else prior_sweep(users=users, detections=detections, seed=seed)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report_markdown(settings, results, sweep))
        for group in results:
            self.stdout.write(
                f"{group.name}: accuracy {group.plain.accuracy:.3f} without calibration, "
                f"{group.calibrated.accuracy:.3f} with"
            )
        self.stdout.write(f"Wrote {out}")
