"""Storing a trained net for the site: float32 computation, float16 weights, a deflated archive.

`save_for_inference` writes what `ml.training.ship` ships; `to_float32` turns a net
trained in mixed precision (or stored in float16) back into one that computes
in float32, which `ml.training.models.load_model` applies to every file it loads.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import keras
import ml_dtypes
import numpy as np

LOW_PRECISION_POLICIES = frozenset({"mixed_bfloat16", "mixed_float16", "bfloat16", "float16"})


def _with_policies(
    model: keras.Model, convert: Callable[[str], str], round_weights: Callable[[np.ndarray], np.ndarray] | None = None
) -> keras.Model:
    """The same network with each layer's dtype policy renamed by `convert`, its weights (rounded by
    `round_weights`, if given) cast to match."""

    def rename(node):
        if isinstance(node, dict):
            policy = node.get("config") if node.get("class_name") == "DTypePolicy" else None
            if isinstance(policy, dict) and "name" in policy:
                return {**node, "config": {**policy, "name": convert(str(policy["name"]))}}
            return {key: rename(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rename(value) for value in node]
        return node

    config = model.get_config()
    converted = rename(config)
    if converted == config:
        return model
    rebuilt = model.__class__.from_config(converted)
    weights = model.get_weights()
    rebuilt.set_weights([round_weights(w) for w in weights] if round_weights else weights)  # each casts to its dtype
    return rebuilt


def to_float32(model: keras.Model) -> keras.Model:
    """The same network and weights computing in float32; a model already in float32 is returned as it is."""
    return _with_policies(model, lambda name: "float32" if name in LOW_PRECISION_POLICIES else name)


LITERT_WEIGHTS = ("float16", "int8")


def export_litert(model: keras.Model, path, *, weights: str = "float16") -> None:
    """Write a float32 `model` as a LiteRT flatbuffer: what the worker runs.

    Keras's own exporter (`format="litert"`, TensorFlow's converter under it).
    The batch dimension stays free. `weights`:

    - `float16`: the converter's float16 weight option. The shipped nets'
      weights are already rounded to bfloat16's precision (`save_for_inference`),
      so float16 holds them exactly.
    - `int8`: the converter's dynamic-range quantization: each large weight
      tensor stored in int8 with its scales, the activations quantized on the
      fly where LiteRT's kernels compute in int8. Half float16's bytes and, on
      the 2-core CPUs measured, about a quarter of its time; the readings move
      a little, so a net served this way is measured as a release of its own.
    """
    if weights not in LITERT_WEIGHTS:
        raise ValueError(f"LiteRT weights must be one of {', '.join(LITERT_WEIGHTS)}, not {weights!r}.")
    import tensorflow as tf

    precision = {"target_spec": {"supported_types": [tf.float16]}} if weights == "float16" else {}
    model.export(
        str(path),
        format="litert",
        verbose=False,
        input_signature=[keras.InputSpec(shape=(None, *model.input_shape[1:]), dtype="float32")],
        optimizations=[tf.lite.Optimize.DEFAULT],
        **precision,
    )


def to_mixed_bfloat16(model: keras.Model) -> keras.Model:
    """The same network computing in bfloat16 with float32 weights, as the nets trained (for a teacher on a GPU)."""
    return _with_policies(model, lambda name: "mixed_bfloat16" if name == "float32" else name)


def save_for_inference(model: keras.Model, path) -> None:
    """Save a float32 model with its weights stored in float16, half the file; `load_model` computes in float32.

    The weights are first rounded to bfloat16's precision (8 significant bits,
    `to_bfloat16_precision`), and the zeroed low bits let the archive deflate
    (`deflate_archive`) by a sixth more. A net trained in mixed bfloat16, as the
    shipped ones were, already computed with weights rounded so; for any other
    net, `ml.training.ship` measures what the rounding cost on the file it writes. A
    weight beyond float16's range would become infinite, so it is refused.
    """
    stored = _with_policies(
        model, lambda name: "float16" if name == "float32" else name, round_weights=to_bfloat16_precision
    )
    for weight in stored.weights:
        if not np.all(np.isfinite(weight.numpy())):
            raise ValueError(f"{weight.path} does not fit in float16; save the model with model.save instead.")
    path = Path(path)
    plain = path.with_name(f"{path.name}.stored.keras")
    try:
        stored.save(plain)
        deflate_archive(plain, path)
    finally:
        plain.unlink(missing_ok=True)


def to_bfloat16_precision(weights: np.ndarray) -> np.ndarray:
    """Floating-point weights rounded (to nearest even) to bfloat16's 8 significant bits, in their own dtype."""
    if not np.issubdtype(weights.dtype, np.floating):
        return weights
    return weights.astype(ml_dtypes.bfloat16).astype(weights.dtype)


def deflate_archive(source: Path, target: Path) -> None:
    """Rewrite a `.keras` archive with its members deflated.

    Keras writes the archive uncompressed; float16 weights deflate by about
    11 %, and by about 25 % once rounded to bfloat16's precision. Keras reads
    a deflated archive as it is, in about the same time.
    """
    with zipfile.ZipFile(source) as plain, zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as packed:
        for member in plain.infolist():
            packed.writestr(member, plain.read(member), compress_type=zipfile.ZIP_DEFLATED)
