#!/usr/bin/env python3
"""A deterministic gravitational n-body simulation for the Sluice "simulation" example job.

64 bodies start in a rotating, roughly virialised ball (positions, masses and
velocities drawn from a seeded xorshift64* generator written out below) and are
integrated with the kick-drift-kick leapfrog scheme for a fixed number of
steps, with Plummer softening. Writes

  out/trajectory.csv  every SNAPSHOT_EVERY steps: the position and velocity of
                      every body, fixed precision (%.9e)
  out/summary.json    parameters, energies, relative energy drift, momentum,
                      angular momentum (sorted keys)

Determinism: every provider must produce bit-identical files. Only IEEE-754
operations that are correctly rounded on every platform are used (+, -, *, /,
math.sqrt), always in the same order; no math.pow / ** on floats, no
trigonometry, no built-in sum() on floats (its algorithm changed in Python
3.12), no threads, no timestamps. Floats are written through "%.9e"/"%.12e"
formatting, which CPython rounds correctly.

Standard library only; run it with `python3 nbody.py` in this folder.
"""

import json
import math
import os
import sys

SEED = 20240601
N = 64
STEPS = 1500
DT = 0.002
SOFTENING = 0.05          # Plummer softening length
G = 1.0
SNAPSHOT_EVERY = 50
OUT_DIR = "out"

MASK64 = (1 << 64) - 1


class XorShift64Star:
    """xorshift64* (Vigna), seeded through splitmix64. Pure integer arithmetic."""

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


def initial_conditions(rng):
    mass, pos, vel = [], [], []
    for _ in range(N):
        # Uniform point in the unit ball by rejection sampling (no trigonometry).
        while True:
            x = rng.range(-1.0, 1.0)
            y = rng.range(-1.0, 1.0)
            z = rng.range(-1.0, 1.0)
            if x * x + y * y + z * z <= 1.0:
                break
        mass.append(rng.range(0.5, 1.5))
        pos.append([x, y, z])
    total = 0.0
    for m in mass:
        total += m
    for i in range(N):
        mass[i] = mass[i] / total          # total mass 1
    for i in range(N):
        x, y, _ = pos[i]
        # Solid-body rotation about the z axis plus a random component.
        vx = -0.9 * y + rng.range(-0.5, 0.5)
        vy = 0.9 * x + rng.range(-0.5, 0.5)
        vz = rng.range(-0.5, 0.5)
        vel.append([vx, vy, vz])
    # Move to the centre-of-mass frame.
    cm = [0.0, 0.0, 0.0]
    cv = [0.0, 0.0, 0.0]
    for i in range(N):
        for a in range(3):
            cm[a] += mass[i] * pos[i][a]
            cv[a] += mass[i] * vel[i][a]
    for i in range(N):
        for a in range(3):
            pos[i][a] -= cm[a]
            vel[i][a] -= cv[a]
    return mass, pos, vel


def accelerations(mass, pos):
    eps2 = SOFTENING * SOFTENING
    ax = [0.0] * N
    ay = [0.0] * N
    az = [0.0] * N
    for i in range(N - 1):
        xi, yi, zi = pos[i]
        mi = mass[i]
        axi = ayi = azi = 0.0
        for j in range(i + 1, N):
            pj = pos[j]
            dx = pj[0] - xi
            dy = pj[1] - yi
            dz = pj[2] - zi
            r2 = dx * dx + dy * dy + dz * dz + eps2
            inv_r = 1.0 / math.sqrt(r2)
            inv_r3 = G * inv_r * inv_r * inv_r
            sj = mass[j] * inv_r3
            si = mi * inv_r3
            axi += sj * dx
            ayi += sj * dy
            azi += sj * dz
            ax[j] -= si * dx
            ay[j] -= si * dy
            az[j] -= si * dz
        ax[i] += axi
        ay[i] += ayi
        az[i] += azi
    return ax, ay, az


def energies(mass, pos, vel):
    eps2 = SOFTENING * SOFTENING
    kin = 0.0
    for i in range(N):
        vx, vy, vz = vel[i]
        kin += 0.5 * mass[i] * (vx * vx + vy * vy + vz * vz)
    pot = 0.0
    for i in range(N - 1):
        xi, yi, zi = pos[i]
        for j in range(i + 1, N):
            dx = pos[j][0] - xi
            dy = pos[j][1] - yi
            dz = pos[j][2] - zi
            pot -= G * mass[i] * mass[j] / math.sqrt(dx * dx + dy * dy + dz * dz + eps2)
    return kin, pot


def momenta(mass, pos, vel):
    p = [0.0, 0.0, 0.0]
    l = [0.0, 0.0, 0.0]
    for i in range(N):
        m = mass[i]
        x, y, z = pos[i]
        vx, vy, vz = vel[i]
        p[0] += m * vx
        p[1] += m * vy
        p[2] += m * vz
        l[0] += m * (y * vz - z * vy)
        l[1] += m * (z * vx - x * vz)
        l[2] += m * (x * vy - y * vx)
    return p, l


def fixed(x, digits=12):
    """A float rounded to `digits` significant digits (correctly rounded)."""
    return float("%.*e" % (digits - 1, x))


def main():
    rng = XorShift64Star(SEED)
    mass, pos, vel = initial_conditions(rng)
    os.makedirs(OUT_DIR, exist_ok=True)

    k0, u0 = energies(mass, pos, vel)
    e0 = k0 + u0
    p0, l0 = momenta(mass, pos, vel)
    max_drift = 0.0
    energy_log = []

    traj = open(os.path.join(OUT_DIR, "trajectory.csv"), "w", newline="\n")
    traj.write("step,time,body,x,y,z,vx,vy,vz\n")

    def snapshot(step):
        t = step * DT
        for i in range(N):
            x, y, z = pos[i]
            vx, vy, vz = vel[i]
            traj.write("%d,%.6f,%d,%.9e,%.9e,%.9e,%.9e,%.9e,%.9e\n"
                       % (step, t, i, x, y, z, vx, vy, vz))

    snapshot(0)
    half = 0.5 * DT
    ax, ay, az = accelerations(mass, pos)
    for step in range(1, STEPS + 1):
        for i in range(N):                 # kick (half step)
            v = vel[i]
            v[0] += half * ax[i]
            v[1] += half * ay[i]
            v[2] += half * az[i]
        for i in range(N):                 # drift (full step)
            p = pos[i]
            v = vel[i]
            p[0] += DT * v[0]
            p[1] += DT * v[1]
            p[2] += DT * v[2]
        ax, ay, az = accelerations(mass, pos)
        for i in range(N):                 # kick (half step)
            v = vel[i]
            v[0] += half * ax[i]
            v[1] += half * ay[i]
            v[2] += half * az[i]
        if step % SNAPSHOT_EVERY == 0:
            snapshot(step)
            k, u = energies(mass, pos, vel)
            drift = (k + u - e0) / abs(e0)
            if abs(drift) > max_drift:
                max_drift = abs(drift)
            energy_log.append({"step": step, "kinetic": fixed(k), "potential": fixed(u),
                               "total": fixed(k + u), "relative_drift": fixed(drift)})
            print("step %d/%d  E=%.9f  dE/E=%+.3e" % (step, STEPS, k + u, drift), flush=True)
    traj.close()

    k1, u1 = energies(mass, pos, vel)
    e1 = k1 + u1
    p1, l1 = momenta(mass, pos, vel)
    summary = {
        "bodies": N,
        "steps": STEPS,
        "dt": DT,
        "softening": SOFTENING,
        "seed": SEED,
        "integrator": "leapfrog (kick-drift-kick)",
        "snapshot_every": SNAPSHOT_EVERY,
        "initial": {"kinetic": fixed(k0), "potential": fixed(u0), "total": fixed(e0),
                    "virial_ratio": fixed(2.0 * k0 / abs(u0)),
                    "momentum": [fixed(x) for x in p0], "angular_momentum": [fixed(x) for x in l0]},
        "final": {"kinetic": fixed(k1), "potential": fixed(u1), "total": fixed(e1),
                  "virial_ratio": fixed(2.0 * k1 / abs(u1)),
                  "momentum": [fixed(x) for x in p1], "angular_momentum": [fixed(x) for x in l1]},
        "relative_energy_drift": fixed((e1 - e0) / abs(e0)),
        "max_abs_relative_energy_drift": fixed(max_drift),
        "energy_log": energy_log,
    }
    with open(os.path.join(OUT_DIR, "summary.json"), "w", newline="\n") as f:
        json.dump(summary, f, sort_keys=True, indent=2)
        f.write("\n")
    print("done: %d bodies, %d steps, relative energy drift %+.3e (max %.3e); "
          "wrote out/trajectory.csv and out/summary.json"
          % (N, STEPS, (e1 - e0) / abs(e0), max_drift), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
