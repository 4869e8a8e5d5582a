#!/usr/bin/env python3
"""Train and evaluate a tiny neural network in pure Python, deterministically.

The Sluice "ai" example job. A 2-layer MLP (2 inputs -> 16 tanh units -> 1
logit) learns to separate two interleaved spirals. The data come from a seeded
xorshift64* generator written out below; training is plain mini-batch SGD with
momentum for a fixed number of epochs, on a fixed shuffling; the trained model
is then run on a fixed test set. Writes

  out/model.json        architecture and weights (6 decimals, sorted keys)
  out/metrics.json      loss and accuracy per epoch, final test accuracy,
                        confusion matrix (sorted keys)
  out/predictions.csv   the test set with the predicted probability and class

Determinism: every provider must produce bit-identical files. Python floats
are IEEE-754 doubles, and +, -, *, / and math.sqrt are correctly rounded on
every platform, but the C library's exp, log, tanh, sin and cos are not
(their last bit may differ between libm versions and CPUs). This program
therefore computes exp, log, tanh, sin and cos itself from those basic
operations (det_exp, det_log, ... below), evaluates every sum in a fixed order
with explicit loops (the built-in sum() on floats changed algorithm in Python
3.12), uses no threads, no timestamps and no `random` module. Floats written
to files go through round()/"%.6f", which CPython rounds correctly.

Standard library only; run it with `python3 train.py` in this folder.
"""

import json
import math
import os
import sys

SEED = 7
TRAIN_PER_CLASS = 200
TEST_PER_CLASS = 100
HIDDEN = 16
EPOCHS = 60
BATCH = 16
LEARNING_RATE = 0.05
MOMENTUM = 0.9
RADIUS = 3.0              # outer radius of the spirals
NOISE = 0.18
TURNS = 1.25              # spiral winding
OUT_DIR = "out"

MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------
# Pseudo-random numbers: splitmix64 seeding + xorshift64*, integers only.

class XorShift64Star:
    def __init__(self, seed):
        z = (seed + 0x9E3779B97F4A7C15) & MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        self.state = z or 0x2545F4914F6CDD1D

    def next_u64(self):
        x = self.state
        x ^= x >> 12
        x ^= (x << 25) & MASK64
        x ^= x >> 27
        self.state = x
        return (x * 0x2545F4914F6CDD1D) & MASK64

    def uniform(self):
        """A float in [0, 1) with 53 random bits (exact conversion)."""
        return (self.next_u64() >> 11) * (1.0 / 9007199254740992.0)

    def range(self, lo, hi):
        return lo + (hi - lo) * self.uniform()

    def below(self, n):
        """An integer in [0, n) without modulo bias (rejection)."""
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            x = self.next_u64()
            if x < limit:
                return x % n

    def shuffle(self, items):
        """Fisher-Yates, in place."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]


# ---------------------------------------------------------------------------
# Elementary functions from correctly rounded operations only.

LN2_HI = 6.93147180369123816490e-01   # fdlibm's split of ln 2: LN2_HI * k is exact
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e+00
PI = 3.141592653589793
TWO_PI = 6.283185307179586


def det_exp(x):
    if x > 700.0:
        x = 700.0
    elif x < -700.0:
        x = -700.0
    k = int(math.floor(x * INV_LN2 + 0.5))
    r = (x - k * LN2_HI) - k * LN2_LO          # |r| <= ~0.35
    # Taylor series to degree 13 in Horner form (error < 1e-16 relative).
    p = 1.0 / 6227020800.0
    for d in (479001600.0, 39916800.0, 3628800.0, 362880.0, 40320.0, 5040.0,
              720.0, 120.0, 24.0, 6.0, 2.0, 1.0, 1.0):
        p = p * r + 1.0 / d
    return math.ldexp(p, k)                    # exact scaling by 2**k


def det_log(x):
    """Natural log for x > 0: x = m * 2**e with m in [sqrt(1/2), sqrt(2))."""
    m, e = math.frexp(x)                       # exact; m in [0.5, 1)
    if m < 0.7071067811865476:
        m *= 2.0
        e -= 1
    s = (m - 1.0) / (m + 1.0)                  # |s| <= 0.1716
    s2 = s * s
    # log(m) = 2 * atanh(s) = 2 * (s + s^3/3 + s^5/5 + ...), 12 terms.
    p = 1.0 / 23.0
    for d in (21.0, 19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0):
        p = p * s2 + 1.0 / d
    return 2.0 * s * p + e * LN2_HI + e * LN2_LO


def det_tanh(x):
    if x > 20.0:
        return 1.0
    if x < -20.0:
        return -1.0
    if -0.15 < x < 0.15:
        # Odd Taylor series, accurate for small |x| where 1 - 2/(e^2x + 1) cancels.
        x2 = x * x
        return x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (
            62.0 / 2835.0 + x2 * (-1382.0 / 155925.0 + x2 * (21844.0 / 6081075.0 + x2 * (
                -929569.0 / 638512875.0 + x2 * (6404582.0 / 10854718875.0)))))))))
    return 1.0 - 2.0 / (det_exp(2.0 * x) + 1.0)


def det_sin_cos(x):
    """(sin x, cos x) by reduction to [-pi, pi] and Taylor series (for moderate |x|)."""
    n = math.floor(x / TWO_PI + 0.5)
    r = x - n * TWO_PI
    r2 = r * r
    s = 0.0
    c = 0.0
    term_s = r
    term_c = 1.0
    for k in range(1, 20):
        s += term_s
        c += term_c
        term_s = -term_s * r2 / ((2 * k) * (2 * k + 1))
        term_c = -term_c * r2 / ((2 * k - 1) * (2 * k))
    return s, c


def sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + det_exp(-z))
    e = det_exp(z)
    return e / (1.0 + e)


def bce_with_logit(z, y):
    """Binary cross-entropy of sigmoid(z) against y in {0, 1}, computed stably."""
    a = z if z > 0.0 else -z
    return (z if z > 0.0 else 0.0) - y * z + det_log(1.0 + det_exp(-a))


# ---------------------------------------------------------------------------
# Data: two interleaved spirals with Gaussian-ish (sum of uniforms) noise.

def make_spirals(rng, per_class):
    points = []
    for i in range(per_class):
        for label in (0, 1):
            t = rng.uniform()                              # position along the arm
            angle = TURNS * TWO_PI * t + label * PI
            radius = RADIUS * (0.15 + 0.85 * t)
            s, c = det_sin_cos(angle)
            # Approximately normal noise: sum of 4 uniforms, centred.
            nx = (rng.uniform() + rng.uniform() + rng.uniform() + rng.uniform() - 2.0) * NOISE
            ny = (rng.uniform() + rng.uniform() + rng.uniform() + rng.uniform() - 2.0) * NOISE
            points.append((radius * c + nx, radius * s + ny, label))
    return points


# ---------------------------------------------------------------------------
# Model: h = tanh(W1 x + b1); z = w2 . h + b2; p = sigmoid(z).

def init_model(rng):
    limit1 = math.sqrt(6.0 / (2 + HIDDEN))                 # Glorot uniform
    limit2 = math.sqrt(6.0 / (HIDDEN + 1))
    w1 = [[rng.range(-limit1, limit1) for _ in range(2)] for _ in range(HIDDEN)]
    b1 = [0.0] * HIDDEN
    w2 = [rng.range(-limit2, limit2) for _ in range(HIDDEN)]
    b2 = 0.0
    return {"w1": w1, "b1": b1, "w2": w2, "b2": b2}


def forward(model, x0, x1):
    w1, b1, w2 = model["w1"], model["b1"], model["w2"]
    h = [0.0] * HIDDEN
    z = model["b2"]
    for j in range(HIDDEN):
        hj = det_tanh(w1[j][0] * x0 + w1[j][1] * x1 + b1[j])
        h[j] = hj
        z += w2[j] * hj
    return h, z


def evaluate(model, data):
    loss = 0.0
    correct = 0
    for x0, x1, y in data:
        _, z = forward(model, x0, x1)
        loss += bce_with_logit(z, y)
        if (1 if z > 0.0 else 0) == y:
            correct += 1
    return loss / len(data), correct / len(data)


def train(model, data, rng):
    w1, b1, w2 = model["w1"], model["b1"], model["w2"]
    # Momentum buffers.
    vw1 = [[0.0, 0.0] for _ in range(HIDDEN)]
    vb1 = [0.0] * HIDDEN
    vw2 = [0.0] * HIDDEN
    vb2 = 0.0
    order = list(range(len(data)))
    history = []
    for epoch in range(1, EPOCHS + 1):
        rng.shuffle(order)
        epoch_loss = 0.0
        for start in range(0, len(order), BATCH):
            batch = order[start:start + BATCH]
            gw1 = [[0.0, 0.0] for _ in range(HIDDEN)]
            gb1 = [0.0] * HIDDEN
            gw2 = [0.0] * HIDDEN
            gb2 = 0.0
            for idx in batch:
                x0, x1, y = data[idx]
                h, z = forward(model, x0, x1)
                epoch_loss += bce_with_logit(z, y)
                dz = sigmoid(z) - y                          # dL/dz
                gb2 += dz
                for j in range(HIDDEN):
                    hj = h[j]
                    gw2[j] += dz * hj
                    da = dz * w2[j] * (1.0 - hj * hj)        # through tanh
                    gw1[j][0] += da * x0
                    gw1[j][1] += da * x1
                    gb1[j] += da
            scale = LEARNING_RATE / len(batch)
            for j in range(HIDDEN):
                vw2[j] = MOMENTUM * vw2[j] - scale * gw2[j]
                w2[j] += vw2[j]
                vb1[j] = MOMENTUM * vb1[j] - scale * gb1[j]
                b1[j] += vb1[j]
                for k in (0, 1):
                    vw1[j][k] = MOMENTUM * vw1[j][k] - scale * gw1[j][k]
                    w1[j][k] += vw1[j][k]
            vb2 = MOMENTUM * vb2 - scale * gb2
            model["b2"] += vb2
        train_loss, train_acc = evaluate(model, data)
        history.append({"epoch": epoch,
                        "mean_batch_loss": round(epoch_loss / len(data), 6),
                        "train_loss": round(train_loss, 6),
                        "train_accuracy": round(train_acc, 6)})
        if epoch % 5 == 0 or epoch == 1:
            print("epoch %d/%d  loss %.6f  train accuracy %.4f"
                  % (epoch, EPOCHS, train_loss, train_acc), flush=True)
    return history


def main():
    data_rng = XorShift64Star(SEED)
    train_set = make_spirals(data_rng, TRAIN_PER_CLASS)
    test_set = make_spirals(XorShift64Star(SEED + 1000), TEST_PER_CLASS)
    model = init_model(XorShift64Star(SEED + 1))
    history = train(model, train_set, XorShift64Star(SEED + 2))

    # Inference on the fixed test set.
    os.makedirs(OUT_DIR, exist_ok=True)
    confusion = [[0, 0], [0, 0]]                            # [true][predicted]
    test_loss = 0.0
    with open(os.path.join(OUT_DIR, "predictions.csv"), "w", newline="\n") as f:
        f.write("index,x,y,label,probability,predicted\n")
        for i, (x0, x1, y) in enumerate(test_set):
            _, z = forward(model, x0, x1)
            test_loss += bce_with_logit(z, y)
            pred = 1 if z > 0.0 else 0
            confusion[y][pred] += 1
            f.write("%d,%.6f,%.6f,%d,%.6f,%d\n" % (i, x0, x1, y, sigmoid(z), pred))
    test_acc = (confusion[0][0] + confusion[1][1]) / len(test_set)
    test_loss /= len(test_set)

    model_doc = {
        "architecture": {"inputs": 2, "hidden": HIDDEN, "hidden_activation": "tanh",
                         "outputs": 1, "output_activation": "sigmoid"},
        "w1": [[round(v, 6) for v in row] for row in model["w1"]],
        "b1": [round(v, 6) for v in model["b1"]],
        "w2": [round(v, 6) for v in model["w2"]],
        "b2": round(model["b2"], 6),
    }
    metrics = {
        "dataset": {"kind": "two spirals", "train_size": len(train_set),
                    "test_size": len(test_set), "noise": NOISE, "radius": RADIUS, "turns": TURNS, "seed": SEED},
        "training": {"epochs": EPOCHS, "batch_size": BATCH, "learning_rate": LEARNING_RATE,
                     "momentum": MOMENTUM, "optimizer": "SGD with momentum",
                     "loss": "binary cross-entropy"},
        "epochs": history,
        "final_train_loss": history[-1]["train_loss"],
        "final_train_accuracy": history[-1]["train_accuracy"],
        "test_loss": round(test_loss, 6),
        "test_accuracy": round(test_acc, 6),
        "test_confusion": {"true0_pred0": confusion[0][0], "true0_pred1": confusion[0][1],
                           "true1_pred0": confusion[1][0], "true1_pred1": confusion[1][1]},
    }
    for name, doc in (("model.json", model_doc), ("metrics.json", metrics)):
        with open(os.path.join(OUT_DIR, name), "w", newline="\n") as f:
            json.dump(doc, f, sort_keys=True, indent=2)
            f.write("\n")
    print("done: test accuracy %.4f, test loss %.6f; wrote out/model.json, "
          "out/metrics.json, out/predictions.csv" % (test_acc, test_loss), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
