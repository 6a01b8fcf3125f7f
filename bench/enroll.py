"""Enrollment speed per engine: enroll_folder on dev/ with one worker and all cores, and
the cost of a large photo against a 150 px LFW photo, end to end through
face_image_enroll; then each engine's throughput against dlib's with the same workers.

    .venv/bin/python bench/enroll.py [--faces DIR] [--repeat N] [--engines opencv,dlib]

Uses its own throwaway SQLite database and MEDIA_ROOT; prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _setup import FACES, setup_django

WORK = setup_django()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from PIL import Image  # noqa: E402

from people.models import FaceImage, Person  # noqa: E402
from people.services import person_create  # noqa: E402
from recognition.services.enroll import face_image_enroll  # noqa: E402
from recognition.services.folder import default_workers  # noqa: E402

LARGE = "dev_hires/Barack_Obama/Barack_Obama__fr_obama3.jpg"
SMALL = "dev/Tom_Cruise/Tom_Cruise_0001.jpg"
TARGET = 3.0  # the default engine's enroll_folder throughput / dlib's, same workers
RATES = "rates: "


def wipe() -> None:
    Person.objects.all().delete()
    shutil.rmtree(WORK / "media", ignore_errors=True)


def folder_rate(dev: Path, workers: int) -> tuple[float, int, float]:
    wipe()
    out = io.StringIO()
    started = time.perf_counter()
    call_command(
        "enroll_folder", str(dev), "--workers", str(workers), stdout=out, stderr=io.StringIO()
    )
    seconds = time.perf_counter() - started
    photos = sum(1 for _ in dev.glob("*/*.jpg"))
    return photos / seconds, photos, seconds


def seconds_per_photo(path: Path, repeat: int) -> float:
    data = path.read_bytes()
    times = []
    for i in range(repeat):
        person = person_create(name=f"bench {path.stem} {i}")
        started = time.perf_counter()
        face_image_enroll(person=person, source=data, name=path.name)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def engine_figures(faces: Path, cores: int, repeat: int) -> dict[int, float]:
    one, photos, one_s = folder_rate(faces / "dev", 1)
    enrolled = FaceImage.objects.count()
    print(f"enroll_folder dev/ ({photos} photos, {enrolled} enrolled)")
    print(f"enroll_folder dev/, 1 worker:  {one:5.2f} photos/s ({one_s:.1f} s)")
    many, _, many_s = folder_rate(faces / "dev", cores)
    print(f"enroll_folder dev/, {cores} workers: {many:5.2f} photos/s ({many_s:.1f} s)")
    print(f"speed-up with {cores} workers: {many / one:.2f}x (target >= 1.7x on two cores)")

    wipe()
    large, small = faces / LARGE, faces / SMALL
    seconds_per_photo(small, 1)  # load the engine's models outside the measurement
    with Image.open(large) as image:
        megapixels = image.width * image.height / 1e6
        large_size = f"{image.width}x{image.height}, {megapixels:.1f} MP"
    large_s = seconds_per_photo(large, repeat)
    small_s = seconds_per_photo(small, repeat)
    print(f"face_image_enroll, median of {repeat} runs each:")
    print(f"  large photo ({large_size}): {large_s * 1000:7.1f} ms")
    print(f"  LFW photo (150x150):        {small_s * 1000:7.1f} ms")
    print(f"large / LFW: {large_s / small_s:.1f}x (target <= 10x)")
    return {1: one, cores: many}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--engines", default="opencv,dlib")
    args = parser.parse_args()
    faces: Path = args.faces.resolve()
    cores = default_workers()
    print(f"machine: {cores} cores, load average {os.getloadavg()[0]:.1f} at start")
    engines = args.engines.split(",")
    rates: dict[str, dict[int, float]] = {}
    if len(engines) == 1:
        settings.FACE_ENGINE = engines[0]
        print(f"\n== FACE_ENGINE={engines[0]}")
        rates[engines[0]] = engine_figures(faces, cores, args.repeat)
        print(RATES + json.dumps({str(w): r for w, r in rates[engines[0]].items()}))
    else:
        # One process per engine: enroll_folder's forkserver (and what it preloads) is
        # per process, so neither engine runs on the other's warm-up.
        for engine in engines:
            command = [sys.executable, __file__, "--engines", engine, "--repeat", str(args.repeat)]
            run = subprocess.run(
                [*command, "--faces", str(faces)], capture_output=True, text=True, check=True
            )
            lines = run.stdout.splitlines()
            print("\n".join(line for line in lines if not line.startswith(RATES)))
            found = next(line for line in lines if line.startswith(RATES))
            rates[engine] = {int(w): r for w, r in json.loads(found[len(RATES) :]).items()}
    if "dlib" in rates and len(rates) > 1:
        default = args.engines.split(",")[0]
        print()
        for workers in sorted(rates["dlib"]):
            ratio = rates[default][workers] / rates["dlib"][workers]
            print(f"{default} / dlib enroll_folder throughput, {workers} worker(s): {ratio:.2f}x")
        met = all(rates[default][w] / rates["dlib"][w] >= TARGET for w in rates["dlib"])
        print(f"target >= {TARGET}x with the same workers: {'MET' if met else 'NOT MET'}")
    if len(engines) > 1:
        print(f"load average {os.getloadavg()[0]:.1f} at end")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
