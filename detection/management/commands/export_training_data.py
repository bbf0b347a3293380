from pathlib import Path

from django.core.management.base import BaseCommand

from detection.training_data import training_data_export


class Command(BaseCommand):
    help = (
        "Write the face crops of corrected detections of users who opted in to share photos for training, "
        "in FER-2013's layout (OUT/train/<emotion>/). Export into a copy of FER-2013 to fine-tune on both: "
        "python -m ml.training.train --data OUT ..."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", required=True, type=Path, help="folder to write train/<emotion>/*.png into")

    def handle(self, *args, out: Path, **options) -> None:
        export = training_data_export(out_dir=out)
        for reason in export.skipped:
            self.stderr.write(f"skipped {reason}")
        counts = ", ".join(f"{label} {count}" for label, count in export.written.items())
        self.stdout.write(
            f"Wrote {export.total} face crops from {len(export.users)} opted-in users to {out / 'train'} ({counts})."
        )
