"""Evaluate an ensemble on PublicTest: the averaged probabilities of several models, with the same TTA modes.

It reads PublicTest alone, so that weighing a teacher never reads PrivateTest.

The ensemble is built by `ml.training.models.build_ensemble`, and `--save` stores that
same model, so what is evaluated here is what a teacher file holds.

python -m ml.training.ensemble --models runs/a/model.keras runs/b/model.keras --data DIR --out runs/ensembles/a+b

With `--save FILE` the ensemble is also stored as one `.keras` file (float16
weights, as `ml.training.ship` stores a net), the form a teacher takes for
`ml.training.distill` and a warm start takes for `ml.training.train --init-from --init-member`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ml.training.cli import refusals_as_errors
from ml.training.evaluate import TTA_MODES, evaluate_predictor, format_report, keras_predictor, write_results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.training.ensemble", description="Evaluate averaged models.")
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", default="runs/ensembles/ensemble")
    parser.add_argument("--name", default="ensemble")
    parser.add_argument("--modes", nargs="+", choices=TTA_MODES, default=list(TTA_MODES))
    parser.add_argument("--save", default=None, metavar="FILE", help="also store the ensemble as this .keras file")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ml.training.data import load_split, test_halves
    from ml.training.models import build_ensemble, ensemble_members, load_model

    with refusals_as_errors("python -m ml.training.ensemble"):
        ensemble = build_ensemble([load_model(path) for path in args.models])
        test, _private_is_not_read = test_halves(load_split(args.data, "test")[0])
    nets = len(ensemble_members(ensemble))  # a model that is an ensemble counts as its nets
    results, _ = evaluate_predictor(keras_predictor(ensemble), test.images, test.labels, args.modes)
    print(format_report(args.name, results))
    path = write_results(
        args.name,
        results,
        Path(args.out),
        {"models": args.models, "nets": nets, "data": args.data, "images": len(test)},
    )
    print(f"\nWrote {path}")
    if args.save:
        from ml.training.export import save_for_inference

        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        save_for_inference(ensemble, args.save)
        print(f"Stored the {nets}-net ensemble as {args.save}")


if __name__ == "__main__":
    main()
