"""Model builders, one function per architecture, written against Keras 3 only.

Every builder takes the input shape (48, 48, 1) and the number of classes and
returns an uncompiled `keras.Model` whose input is float pixels in 0..255 (what
`ml.runtime.preprocessing.preprocess_faces` gives) and whose output is softmax
probabilities in `ml.LABELS` order. Normalisation lives inside the model, so a
saved `.keras` file is self-contained. No `tf.*` here, so the models also
train on the JAX backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
from keras import layers

from ml.runtime.preprocessing import INPUT_SHAPE
from ml.training.export import to_float32

NUM_CLASSES = 7


def _conv_bn_relu(x, filters: int, kernel_size: int = 3, weight_decay: float = 0.0, name: str | None = None):
    regularizer = keras.regularizers.L2(weight_decay) if weight_decay else None
    x = layers.Conv2D(
        filters,
        kernel_size,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer=regularizer,
        name=None if name is None else f"{name}_conv",
    )(x)
    x = layers.BatchNormalization(name=None if name is None else f"{name}_bn")(x)
    return layers.Activation("relu", name=None if name is None else f"{name}_relu")(x)


def _probabilities(x, num_classes: int):
    # float32 even under a mixed-precision policy: a bfloat16 softmax keeps about
    # three significant digits, too few for the loss and for calibrated outputs.
    return layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)


def _scaled_input(input_shape: tuple[int, int, int]):
    inputs = keras.Input(shape=input_shape, name="face")
    # Centre pixels on zero: [0, 255] -> [-1, 1].
    return inputs, layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale")(inputs)


def build_cnn(input_shape: tuple[int, int, int] = INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """The study's plain CNN: four conv blocks (conv, BN, ReLU, pool, dropout) and two dense layers."""
    inputs, x = _scaled_input(input_shape)
    for filters in (64, 128, 256, 512):
        x = _conv_bn_relu(x, filters)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    for units in (256, 512):
        x = layers.Dense(units, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Dropout(0.25)(x)
    outputs = _probabilities(x, num_classes)
    return keras.Model(inputs, outputs, name="cnn")


def _preact_block(x, filters: int, stride: int, name: str):
    """A pre-activation residual block (He et al. 2016): BN-ReLU-conv twice, identity or 1x1 shortcut."""
    preact = layers.BatchNormalization(name=f"{name}_bn1")(x)
    preact = layers.Activation("relu", name=f"{name}_relu1")(preact)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(preact)
    else:
        shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(preact)
    y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    y = layers.Activation("relu", name=f"{name}_relu2")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    return layers.Add(name=f"{name}_add")([shortcut, y])


def build_resnet(
    input_shape: tuple[int, int, int] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
    width: int = 32,
    blocks_per_stage: int = 2,
) -> keras.Model:
    """A pre-activation ResNet (ResNet-18 layout, narrower) sized for 48x48 faces."""
    widths = tuple(width * 2**stage for stage in range(4))
    inputs, x = _scaled_input(input_shape)
    x = layers.Conv2D(widths[0], 3, padding="same", use_bias=False, name="stem_conv")(x)
    for stage, filters in enumerate(widths):
        for block in range(blocks_per_stage):
            stride = 2 if stage > 0 and block == 0 else 1
            x = _preact_block(x, filters, stride, name=f"stage{stage + 1}_block{block + 1}")
    x = layers.BatchNormalization(name="post_bn")(x)
    x = layers.Activation("relu", name="post_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(0.3)(x)
    outputs = _probabilities(x, num_classes)
    return keras.Model(inputs, outputs, name="resnet")


def _three_channels(x):
    return layers.Concatenate(name="gray_to_rgb")([x, x, x])


def build_efficientnet(
    input_shape: tuple[int, int, int] = INPUT_SHAPE, num_classes: int = NUM_CLASSES, weights: str | None = None
) -> keras.Model:
    """EfficientNetB0 from keras.applications on 48x48 faces.

    With `weights=None` the network takes the single gray channel directly;
    ImageNet weights need three channels, so the gray channel is repeated. The
    application rescales 0..255 inputs itself.
    """
    inputs = keras.Input(shape=input_shape, name="face")
    x = inputs
    channels = input_shape[-1]
    if weights is not None:
        x = _three_channels(x)
        channels = 3
    backbone = keras.applications.EfficientNetB0(
        include_top=False,
        weights=weights,
        input_shape=(*input_shape[:2], channels),
        pooling="avg",
    )
    x = backbone(x)
    x = layers.Dropout(0.3)(x)
    outputs = _probabilities(x, num_classes)
    return keras.Model(inputs, outputs, name="efficientnetb0")


def _he_initialise(model: keras.Model, seed: int | None = None) -> None:
    """Redraw every conv kernel with He initialisation (biases stay zero).

    keras.applications builds VGG16 with Glorot-uniform kernels and no batch
    norm. Through thirteen ReLU layers that shrinks the signal at each layer,
    and from scratch the net stayed at chance (loss ln 7) in trial runs. He et
    al. (2015) derived their initialisation for exactly this case.
    """
    initializer = keras.initializers.HeNormal(seed=seed)
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            layer.kernel.assign(initializer(layer.kernel.shape, dtype=layer.kernel.dtype))


def build_vgg16(
    input_shape: tuple[int, int, int] = INPUT_SHAPE, num_classes: int = NUM_CLASSES, weights: str | None = None
) -> keras.Model:
    """VGG16 from keras.applications on 48x48 faces, with a small dense head.

    ImageNet weights expect Caffe-style inputs (three channels, per-channel
    mean subtracted), so with them the gray channel is repeated and centred
    that way; from scratch the pixels are simply scaled to [-1, 1].
    """
    inputs = keras.Input(shape=input_shape, name="face")
    if weights is not None:
        x = _three_channels(inputs)
        x = layers.Normalization(mean=[103.939, 116.779, 123.68], variance=[1.0, 1.0, 1.0], name="caffe_mean")(x)
        channels = 3
    else:
        x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale")(inputs)
        channels = input_shape[-1]
    backbone = keras.applications.VGG16(
        include_top=False, weights=weights, input_shape=(*input_shape[:2], channels), pooling=None
    )
    if weights is None:
        _he_initialise(backbone)
    x = backbone(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = _probabilities(x, num_classes)
    return keras.Model(inputs, outputs, name="vgg16")


def build_vggnet(
    input_shape: tuple[int, int, int] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
    width: int = 32,
    dense_units: int | None = None,
    dropout: float = 0.3,
) -> keras.Model:
    """A VGG-style net after Khaireddin & Chen (2021), narrowed to train on a CPU.

    Four stages of two conv-BN-ReLU layers and max-pooling (48 -> 3 pixels),
    then a dense layer on the flattened 3x3 map: faces keep their spatial
    layout (eyes above mouth) up to the classifier, which global pooling
    would throw away. `width` is the first stage's filters (doubled at each
    stage); on a CPU the cost grows with its square.
    """
    widths = tuple(width * 2**stage for stage in range(4))
    dense_units = dense_units or widths[-1]
    inputs, x = _scaled_input(input_shape)
    for stage, filters in enumerate(widths):
        x = _conv_bn_relu(x, filters, name=f"stage{stage + 1}a")
        x = _conv_bn_relu(x, filters, name=f"stage{stage + 1}b")
        x = layers.MaxPooling2D(name=f"stage{stage + 1}_pool")(x)
        if stage >= 2:
            x = layers.SpatialDropout2D(0.1, name=f"stage{stage + 1}_drop")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="head_drop1")(x)
    x = layers.Dense(dense_units, use_bias=False, name="head_dense")(x)
    x = layers.BatchNormalization(name="head_bn")(x)
    x = layers.Activation("relu", name="head_relu")(x)
    x = layers.Dropout(dropout, name="head_drop2")(x)
    outputs = _probabilities(x, num_classes)
    return keras.Model(inputs, outputs, name="vggnet")


def build_tiny(input_shape: tuple[int, int, int] = INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> keras.Model:
    """A few-thousand-parameter net for tests and smoke runs, not for use."""
    inputs, x = _scaled_input(input_shape)
    x = _conv_bn_relu(x, 8)
    x = layers.MaxPooling2D(4)(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = _probabilities(x, num_classes)
    return keras.Model(inputs, outputs, name="tiny")


def build_ensemble(members: Sequence[keras.Model], name: str = "ensemble") -> keras.Model:
    """One model whose probabilities are the mean of its members', saved and loaded as a single `.keras` file.

    Members are copied under the names member_1, member_2... (a functional
    model's layers need distinct names, and trained nets share theirs), each
    keeping its own weights and any prior shift it was shipped with. A member
    that is itself an ensemble joins as its own members, so adding a net to
    a shipped ensemble weighs every net the same rather than halving the old ones.
    """
    members = [net for member in members for net in ensemble_members(member)]
    if len(members) < 2:
        raise ValueError("An ensemble needs at least two models.")
    shapes = {tuple(member.input_shape[1:]) for member in members}
    classes = {member.output_shape[-1] for member in members}
    if len(shapes) != 1 or len(classes) != 1:
        raise ValueError(f"Ensemble members must share input and output shapes; got {shapes} and {classes}.")
    inputs = keras.Input(shape=shapes.pop(), name="face")
    outputs = []
    for index, member in enumerate(members, start=1):
        copy = member.__class__.from_config({**member.get_config(), "name": f"member_{index}"})
        copy.set_weights(member.get_weights())
        outputs.append(copy(inputs))
    mean = layers.Average(name="mean_probabilities", dtype="float32")(outputs)
    return keras.Model(inputs, mean, name=name)


def ensemble_members(model: keras.Model) -> list[keras.Model]:
    """The nets a `build_ensemble` model averages, or the model itself when it is a single net."""
    try:
        mean = model.get_layer("mean_probabilities")
    except ValueError:
        return [model]
    members = [layer for layer in model.layers if isinstance(layer, keras.Model) and layer.name.startswith("member_")]
    if not isinstance(mean, layers.Average) or not members:
        return [model]
    return members


def load_model(path) -> keras.Model:
    """Load a `.keras` file for inference, computing in float32.

    Importing this module registers the custom layers the file may hold; a
    model trained in mixed precision, or saved with float16 weights
    (`save_for_inference`), is converted (`to_float32`), so evaluation and
    the site score exactly what gets shipped.
    """
    return to_float32(keras.models.load_model(path, compile=False))


def weighted_layers(model: keras.Model) -> list[layers.Layer]:
    """The layers holding weights, in order, nested models flattened (a keras.applications backbone)."""
    found: list[layers.Layer] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(weighted_layers(layer))
        elif layer.weights:
            found.append(layer)
    return found


def inference_check(model: keras.Model, faces: np.ndarray, *, precision: str) -> None:
    """Refuse a net whose compiled inference reads NaN for real faces, before a run trusts its validation.

    Validation and checkpoints read a net through `predict`, the backend's compiled path. On the JAX
    backend's CPU (jax 0.11.2, Keras 3.15), the VGG-style net built in mixed bfloat16 read NaN for every
    face there while the same net called eagerly read them right, and a run's validation then chose its
    epoch on noise. Float32 read them right on every backend and device tried.
    """
    probabilities = np.asarray(model.predict(faces, batch_size=len(faces), verbose=0), dtype="float32")
    if not np.isfinite(probabilities).all():
        raise ValueError(
            f"{model.name} reads NaN for real faces with --precision {precision} on the "
            f"{keras.backend.backend()} backend, so its validation would mean nothing: use --precision float32."
        )


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Copy `source`'s weights into `target`, layer by layer: same architecture, any precision or wrapper.

    Used to warm-start a run (`ml.training.train --init-from`) from a shipped model,
    which may differ in precision
    from the new run. (`to_float32` converts a whole model instead.)
    """
    source_layers, target_layers = weighted_layers(source), weighted_layers(target)
    if len(source_layers) != len(target_layers):
        raise ValueError(
            f"{source.name} has {len(source_layers)} layers with weights, {target.name} has {len(target_layers)}: "
            "not the same architecture."
        )
    for source_layer, target_layer in zip(source_layers, target_layers, strict=True):
        weights = source_layer.get_weights()
        shapes = [w.shape for w in weights]
        expected = [tuple(w.shape) for w in target_layer.weights]
        if shapes != expected:
            raise ValueError(
                f"Layer {source_layer.name} holds weights of shapes {shapes}, {target_layer.name} needs {expected}: "
                "not the same architecture (or --width)."
            )
        target_layer.set_weights(weights)


def widen_weights(source: keras.Model, target: keras.Model, *, seed: int = 0) -> None:
    """Copy a narrower net into a wider one of the same chain of layers, computing the same function (Net2WiderNet).

    Chen, Goodfellow & Shlens (2016): each added filter or unit copies one of
    the source's, chosen at random, and the layer after it splits that unit's
    outgoing weights between the copies, so the wider net reads every face as
    the narrow one did and training starts from its accuracy, not from scratch.
    Where the paper adds noise to break the copies' symmetry, the split here
    is uneven instead (random shares summing to one): copies with different
    outgoing weights get different gradients, and the function stays exact.
    Works for a chain of Conv2D, BatchNormalization and Dense layers with any
    pooling, dropout and one Flatten between them (`build_vggnet`).
    """
    rng = np.random.default_rng(seed)
    source_layers, target_layers = weighted_layers(source), weighted_layers(target)
    if [type(layer) for layer in source_layers] != [type(layer) for layer in target_layers]:
        raise ValueError(f"{source.name} and {target.name} are not the same chain of layers: cannot widen.")
    # For each of the target's input channels: the source channel it copies and its share of that channel.
    channel_map, share = np.arange(1), np.ones(1)
    source_channels = 1
    for position, (source_layer, target_layer) in enumerate(zip(source_layers, target_layers, strict=True)):
        weights = source_layer.get_weights()
        if isinstance(source_layer, layers.BatchNormalization):
            target_layer.set_weights([w[channel_map] for w in weights])
            continue
        if not isinstance(source_layer, (layers.Conv2D, layers.Dense)):
            raise ValueError(f"widen_weights handles Conv2D, Dense and BatchNormalization, not {source_layer.name}.")
        kernel, *bias = weights
        inputs = kernel.shape[-2]
        if position == 0:
            channel_map, share = np.arange(inputs), np.ones(inputs)
        elif inputs != source_channels:
            # A Flatten before this layer: channels-last, so input (h, w, c) is row (h * W + w) * C + c.
            positions = inputs // source_channels
            channel_map = (np.arange(positions)[:, None] * source_channels + channel_map[None, :]).ravel()
            share = np.tile(share, positions)
        kernel = kernel[..., channel_map, :] * share[:, None]
        outputs = kernel.shape[-1]
        wanted = target_layer.weights[0].shape[-1]
        last = position == len(source_layers) - 1
        if last and wanted != outputs:
            raise ValueError(f"{target.name} has {wanted} outputs, {source.name} {outputs}: widen hidden layers only.")
        if wanted < outputs:
            raise ValueError(f"{target_layer.name} is narrower than {source_layer.name}: cannot widen.")
        channel_map = np.concatenate([np.arange(outputs), rng.integers(0, outputs, wanted - outputs)])
        source_channels = outputs
        copies = np.bincount(channel_map, minlength=outputs)
        raw = rng.uniform(0.5, 1.5, wanted) * (copies[channel_map] > 1) + (copies[channel_map] == 1)
        share = raw / np.bincount(channel_map, weights=raw, minlength=outputs)[channel_map]
        target_layer.set_weights([kernel[..., channel_map], *(b[channel_map] for b in bias)])


ARCHITECTURES: dict[str, Callable[..., keras.Model]] = {
    "cnn": build_cnn,
    "resnet": build_resnet,
    "efficientnetb0": build_efficientnet,
    "vgg16": build_vgg16,
    "vggnet": build_vggnet,
    "tiny": build_tiny,
}
# Builders that accept `weights=` (keras.applications backbones), and those that accept `width=`.
PRETRAINABLE = {"efficientnetb0", "vgg16"}
SCALABLE = {"vggnet", "resnet"}


def build_model(
    arch: str,
    input_shape: tuple[int, int, int] = INPUT_SHAPE,
    num_classes: int = NUM_CLASSES,
    weights: str | None = None,
    width: int | None = None,
) -> keras.Model:
    """Build the named architecture; `weights` only for the keras.applications ones, `width` for SCALABLE."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}.")
    if width is not None:
        if arch not in SCALABLE:
            raise ValueError(f"--width applies to {', '.join(sorted(SCALABLE))}, not {arch}.")
        return ARCHITECTURES[arch](input_shape, num_classes, width=width)
    if weights is not None and arch not in PRETRAINABLE:
        raise ValueError(
            f"{arch} is trained from scratch; --weights only applies to {', '.join(sorted(PRETRAINABLE))}."
        )
    if arch in PRETRAINABLE:
        return ARCHITECTURES[arch](input_shape, num_classes, weights=weights)
    return ARCHITECTURES[arch](input_shape, num_classes)
