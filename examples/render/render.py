#!/usr/bin/env python3
"""A small deterministic ray tracer for the Sluice "render" example job.

Scene: a checkered ground plane, four spheres (two of them mirror-like), two
point lights with hard shadows, and mirror reflections up to a fixed depth.
Writes out/image.ppm (binary P6).

Determinism: every provider that runs this job must produce a bit-identical
image, so the program uses only IEEE-754 operations that are correctly rounded
everywhere (+, -, *, /, math.sqrt) in a fixed order. It avoids math.pow, the
** operator on floats, exp/sin/cos and the built-in sum() on floats (its
algorithm changed in Python 3.12), has no randomness, no timestamps, and no
threads. Colours are clamped to [0, 1] and quantised with round().

Standard library only; run it with `python3 render.py` in this folder.
"""

import math
import os
import sys

WIDTH = 320
HEIGHT = 240
MAX_DEPTH = 2          # reflection bounces after the primary hit
EPS = 1e-4             # offset along the normal to avoid self-intersection
OUT_DIR = "out"
OUT_FILE = os.path.join(OUT_DIR, "image.ppm")
PROGRESS_EVERY = 24    # rows between progress lines

# Spheres: (cx, cy, cz, radius, r, g, b, reflectivity, specular exponent power
# of two: the highlight is (cos)^(2**n), computed by squaring n times).
SPHERES = (
    (0.0, 1.0, 0.0, 1.0, 0.90, 0.20, 0.20, 0.25, 5),
    (-2.2, 0.7, 1.2, 0.7, 0.20, 0.55, 0.95, 0.10, 4),
    (2.1, 0.8, 0.9, 0.8, 0.95, 0.95, 0.95, 0.70, 6),
    (0.9, 0.35, 2.3, 0.35, 0.25, 0.85, 0.30, 0.05, 3),
)

# Ground plane y = 0 with a checkerboard; reflectivity of the plane.
PLANE_REFLECT = 0.20
CHECK_A = (0.85, 0.85, 0.80)
CHECK_B = (0.15, 0.15, 0.18)

# Point lights: (x, y, z, intensity).
LIGHTS = (
    (-4.0, 6.0, 5.0, 0.75),
    (5.0, 4.0, 1.0, 0.45),
)
AMBIENT = 0.08

# Camera: position, looking at a target, vertical field of view fixed by
# the "screen half-height" value (tan(fov/2) written out as a constant so no
# trigonometric function is needed).
CAM = (0.0, 2.2, 7.5)
TARGET = (0.0, 0.8, 0.0)
HALF_H = 0.45          # tan(fov_y / 2), fov_y ~ 48.5 degrees
HALF_W = HALF_H * WIDTH / HEIGHT


def normalize(x, y, z):
    inv = 1.0 / math.sqrt(x * x + y * y + z * z)
    return x * inv, y * inv, z * inv


def camera_basis():
    fx, fy, fz = normalize(TARGET[0] - CAM[0], TARGET[1] - CAM[1], TARGET[2] - CAM[2])
    # right = forward x world_up(0, 1, 0)
    rx, ry, rz = normalize(-fz, 0.0, fx)
    # up = right x forward
    ux = ry * fz - rz * fy
    uy = rz * fx - rx * fz
    uz = rx * fy - ry * fx
    return (fx, fy, fz), (rx, ry, rz), (ux, uy, uz)


def hit_scene(ox, oy, oz, dx, dy, dz, t_max):
    """Return (t, index) of the nearest hit; index -1 is the plane, None = miss."""
    best_t = t_max
    best = None
    for i, s in enumerate(SPHERES):
        lx = ox - s[0]
        ly = oy - s[1]
        lz = oz - s[2]
        b = lx * dx + ly * dy + lz * dz
        c = lx * lx + ly * ly + lz * lz - s[3] * s[3]
        disc = b * b - c
        if disc <= 0.0:
            continue
        sq = math.sqrt(disc)
        t = -b - sq
        if t <= EPS:
            t = -b + sq
            if t <= EPS:
                continue
        if t < best_t:
            best_t = t
            best = i
    if dy < 0.0:
        t = -oy / dy
        if EPS < t < best_t:
            best_t = t
            best = -1
    return best_t, best


def occluded(px, py, pz, lx, ly, lz, dist):
    """True if anything lies between the point and the light (shadow ray)."""
    for s in SPHERES:
        cx = px - s[0]
        cy = py - s[1]
        cz = pz - s[2]
        b = cx * lx + cy * ly + cz * lz
        c = cx * cx + cy * cy + cz * cz - s[3] * s[3]
        disc = b * b - c
        if disc <= 0.0:
            continue
        sq = math.sqrt(disc)
        t = -b - sq
        if t <= EPS:
            t = -b + sq
        if EPS < t < dist:
            return True
    return False


def sky(dy):
    # Vertical gradient: white-ish at the horizon, blue above.
    t = 0.5 * (dy + 1.0)
    return 1.0 - 0.5 * t, 1.0 - 0.3 * t, 1.0


def trace(ox, oy, oz, dx, dy, dz, depth):
    t, idx = hit_scene(ox, oy, oz, dx, dy, dz, 1e30)
    if idx is None:
        return sky(dy)
    px = ox + dx * t
    py = oy + dy * t
    pz = oz + dz * t
    if idx < 0:
        nx, ny, nz = 0.0, 1.0, 0.0
        # Checkerboard with unit squares; floor() is exact.
        if (math.floor(px) + math.floor(pz)) % 2 == 0:
            br, bg, bb = CHECK_A
        else:
            br, bg, bb = CHECK_B
        refl = PLANE_REFLECT
        shin = 3
    else:
        s = SPHERES[idx]
        inv_r = 1.0 / s[3]
        nx = (px - s[0]) * inv_r
        ny = (py - s[1]) * inv_r
        nz = (pz - s[2]) * inv_r
        br, bg, bb = s[4], s[5], s[6]
        refl = s[7]
        shin = s[8]

    # Offset the hit point along the normal for secondary rays.
    qx = px + nx * EPS
    qy = py + ny * EPS
    qz = pz + nz * EPS

    # Reflection direction r = d - 2 (d.n) n.
    dn = dx * nx + dy * ny + dz * nz
    rx = dx - 2.0 * dn * nx
    ry = dy - 2.0 * dn * ny
    rz = dz - 2.0 * dn * nz

    diffuse = AMBIENT
    spec = 0.0
    for lxp, lyp, lzp, inten in LIGHTS:
        lx = lxp - qx
        ly = lyp - qy
        lz = lzp - qz
        dist = math.sqrt(lx * lx + ly * ly + lz * lz)
        inv = 1.0 / dist
        lx *= inv
        ly *= inv
        lz *= inv
        ndl = nx * lx + ny * ly + nz * lz
        if ndl <= 0.0:
            continue
        if occluded(qx, qy, qz, lx, ly, lz, dist):
            continue
        diffuse += inten * ndl
        rdl = rx * lx + ry * ly + rz * lz
        if rdl > 0.0:
            h = rdl
            for _ in range(shin):   # h ** (2 ** shin) by repeated squaring
                h = h * h
            spec += inten * h

    k = 1.0 - refl
    cr = br * diffuse * k + spec
    cg = bg * diffuse * k + spec
    cb = bb * diffuse * k + spec
    if refl > 0.0 and depth < MAX_DEPTH:
        mr, mg, mb = trace(qx, qy, qz, rx, ry, rz, depth + 1)
        cr += refl * mr
        cg += refl * mg
        cb += refl * mb
    return cr, cg, cb


def to_byte(v):
    # Clamp, apply a gamma of 2 (sqrt is correctly rounded) and quantise.
    if v <= 0.0:
        return 0
    if v >= 1.0:
        return 255
    return int(round(math.sqrt(v) * 255.0))


def main():
    (fx, fy, fz), (rx, ry, rz), (ux, uy, uz) = camera_basis()
    ox, oy, oz = CAM
    pixels = bytearray(WIDTH * HEIGHT * 3)
    pos = 0
    for j in range(HEIGHT):
        sy = (1.0 - 2.0 * (j + 0.5) / HEIGHT) * HALF_H
        for i in range(WIDTH):
            sx = (2.0 * (i + 0.5) / WIDTH - 1.0) * HALF_W
            dx, dy, dz = normalize(fx + sx * rx + sy * ux,
                                   fy + sx * ry + sy * uy,
                                   fz + sx * rz + sy * uz)
            r, g, b = trace(ox, oy, oz, dx, dy, dz, 0)
            pixels[pos] = to_byte(r)
            pixels[pos + 1] = to_byte(g)
            pixels[pos + 2] = to_byte(b)
            pos += 3
        if (j + 1) % PROGRESS_EVERY == 0 or j + 1 == HEIGHT:
            print("rows %d/%d" % (j + 1, HEIGHT), flush=True)

    os.makedirs(OUT_DIR, exist_ok=True)
    header = b"P6\n%d %d\n255\n" % (WIDTH, HEIGHT)
    with open(OUT_FILE, "wb") as f:
        f.write(header)
        f.write(pixels)

    total = 0
    for v in pixels:
        total += v
    mean = total / len(pixels)
    print("done: wrote %s (%dx%d, P6, %d bytes), mean channel value %.3f"
          % (OUT_FILE, WIDTH, HEIGHT, len(header) + len(pixels), mean), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
