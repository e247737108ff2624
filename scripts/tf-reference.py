#!/usr/bin/env python3
"""TensorFlow reference timings for `stegnet bench`: the same StegNet network and shapes
(see shared/reference/stegnet-architecture.md), per-channel BatchNorm, the paper's loss with
8-bit straight-through rounding, Adam (beta1 0.5, beta2 0.9).

Prints the training-step time (16 pairs of 64x64: forward, loss, backward, Adam) and the
embed + reveal time per megapixel (1024x1024, BatchNorm in inference mode), min and median
of several runs after a warm-up, so that the CPU-speed goal ("half of TensorFlow's time") can
be checked on the machine at hand:

    python3 -m venv /tmp/tf && /tmp/tf/bin/pip install tensorflow-cpu
    /tmp/tf/bin/python scripts/tf-reference.py [--runs 3] [--side 1024]
"""
import argparse
import statistics
import time

import keras
import tensorflow as tf

SCR_WIDTHS = [32, 32, 64, 64, 128, 128]


def bn_elu(x):
    x = tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
    return tf.keras.layers.ELU(alpha=1.0)(x)


def scr_block(x, width):
    channels = x.shape[-1]
    main = bn_elu(x)
    main = tf.keras.layers.DepthwiseConv2D(3, padding="same", use_bias=True)(main)
    main = tf.keras.layers.Conv2D(width, 1, padding="same", use_bias=True)(main)
    pad = width - channels
    skip = keras.ops.pad(x, [[0, 0], [0, 0], [0, 0], [pad // 2, pad - pad // 2]]) if pad else x
    return main + skip


def network(channels_in, name):
    inputs = tf.keras.Input(shape=(None, None, channels_in))
    x = inputs
    for width in SCR_WIDTHS:
        x = scr_block(x, width)
    x = tf.keras.layers.Conv2D(32, 3, padding="same")(bn_elu(x))
    x = tf.keras.layers.Conv2D(3, 3, padding="same")(bn_elu(x))
    return tf.keras.Model(inputs, x, name=name)


def residual_terms(residual):
    l1 = tf.reduce_mean(tf.abs(residual))
    variance = tf.reduce_mean(tf.math.reduce_variance(residual, axis=[1, 2, 3]))
    return l1 + variance


def quantize(x):
    levels = tf.round((tf.clip_by_value(x, -1.0, 1.0) + 1.0) * 127.5) / 127.5 - 1.0
    return x + tf.stop_gradient(levels - x)


def timings(seconds):
    return f"min {min(seconds):.3f} s  median {statistics.median(seconds):.3f} s"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--side", type=int, default=1024)
    args = parser.parse_args()

    embedder, decoder = network(6, "embedder"), network(3, "decoder")
    variables = embedder.trainable_variables + decoder.trainable_variables
    adam = tf.keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9)

    @tf.function
    def train_step(cover, hidden):
        with tf.GradientTape() as tape:
            embedded = quantize(embedder(tf.concat([cover, hidden], -1), training=True))
            decoded = decoder(embedded, training=True)
            loss = (residual_terms(cover - embedded) + residual_terms(decoded - hidden)) / 4
        adam.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    @tf.function
    def embed_reveal(cover, hidden):
        embedded = quantize(embedder(tf.concat([cover, hidden], -1), training=False))
        return decoder(embedded, training=False)

    shape = [args.batch, args.crop, args.crop, 3]
    cover = tf.random.uniform(shape, -1, 1, seed=1)
    hidden = tf.random.uniform(shape, -1, 1, seed=2)
    steps = []
    for run in range(args.runs + 1):
        start = time.perf_counter()
        train_step(cover, hidden).numpy()
        if run:
            steps.append(time.perf_counter() - start)

    image = [1, args.side, args.side, 3]
    cover, hidden = tf.random.uniform(image, -1, 1), tf.random.uniform(image, -1, 1)
    megapixels = args.side * args.side / 1e6
    images = []
    for run in range(args.runs + 1):
        start = time.perf_counter()
        embed_reveal(cover, hidden).numpy()
        if run:
            images.append((time.perf_counter() - start) / megapixels)

    print(f"TensorFlow {tf.__version__} CPU, {tf.config.threading.get_intra_op_parallelism_threads() or 'all'} threads")
    print(f"  training step ({args.batch} x {args.crop}x{args.crop}):  {timings(steps)}  ({args.runs} runs)")
    print(f"  embed + reveal per megapixel ({args.side}x{args.side}):  {timings(images)}")


if __name__ == "__main__":
    main()
