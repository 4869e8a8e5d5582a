#!/usr/bin/env python3
"""Show that a Sluice job ran on a GPU: record what nvidia-smi reports.

Writes
  out/gpu.txt  the output of
                 nvidia-smi --query-gpu=index,name,memory.total,driver_version,uuid --format=csv
                 nvidia-smi -L
  out/env.txt  CUDA_VISIBLE_DEVICES as the job saw it

When nvidia-smi is missing, fails, or lists no GPU, out/gpu.txt says
"no GPU visible" and the program exits 3, so the job fails instead of
reporting success without a GPU.

The output is specific to the machine (GPU names, UUIDs, driver versions), so
this job is meant to run with redundancy 1: two providers would never agree
on it bit for bit.

Standard library only; run it with `python3 gpu_info.py` in this folder.
"""

import os
import shutil
import subprocess
import sys

OUT_DIR = "out"
NO_GPU_EXIT = 3
TIMEOUT_S = 60
QUERY = ["--query-gpu=index,name,memory.total,driver_version,uuid", "--format=csv"]


def run(smi, args):
    """(exit status, combined output) of nvidia-smi with the given arguments."""
    try:
        done = subprocess.run([smi] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return 124, "nvidia-smi %s: no answer within %d s\n" % (" ".join(args), TIMEOUT_S)
    except OSError as error:
        return 127, "nvidia-smi %s: %s\n" % (" ".join(args), error)
    return done.returncode, done.stdout.decode("utf-8", "replace")


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    with open(os.path.join(OUT_DIR, "env.txt"), "w", newline="\n") as f:
        f.write("CUDA_VISIBLE_DEVICES=%s\n" % (visible if visible is not None else "(unset)"))
    print("CUDA_VISIBLE_DEVICES=%s" % (visible if visible is not None else "(unset)"), flush=True)

    smi = shutil.which("nvidia-smi")
    if smi is None:                      # a sandbox may start with a bare PATH
        for candidate in ("/usr/bin/nvidia-smi", "/usr/local/bin/nvidia-smi", "/bin/nvidia-smi"):
            if os.access(candidate, os.X_OK):
                smi = candidate
                break
    report = []
    ok = smi is not None
    if smi is None:
        report.append("nvidia-smi: not found (PATH and /usr/bin, /usr/local/bin)\n")
    else:
        for args in (QUERY, ["-L"]):
            status, text = run(smi, args)
            report.append("$ nvidia-smi %s\n%s" % (" ".join(args), text))
            if not text.endswith("\n"):
                report.append("\n")
            if status != 0:
                report.append("(exit status %d)\n" % status)
                ok = False
            elif args == ["-L"] and "GPU " not in text:
                ok = False
        report.append("\n")

    if not ok:
        report.insert(0, "no GPU visible\n\n")
    with open(os.path.join(OUT_DIR, "gpu.txt"), "w", newline="\n") as f:
        f.write("".join(report))
    sys.stdout.write("".join(report))
    if not ok:
        print("no GPU visible", file=sys.stderr, flush=True)
        return NO_GPU_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main())
