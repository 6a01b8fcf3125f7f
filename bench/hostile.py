"""Reliability under concurrency, faults and hostile input, in one run.

.venv/bin/python bench/hostile.py

Prints:
1. 16 identify clients + 2 enrollment clients against `manage.py runserver` on SQLite
   (what `make run` serves): errors, latency, audit rows whole.
2. Peak RSS above the process baseline of analysing each bomb of the hostile corpus,
   against the previous decoder (float64 / RGBA copies of the whole photo) in the
   same run; then 16 bombs sent in parallel to the server: its peak RSS and how many
   were answered 200 vs 503 server_busy.
3. Tokens issued during a login lockout under `gunicorn --workers 2` (expected 0),
   and how many of 30 identify requests a 10/min throttle let through (expected 10).
4. Seconds from SIGKILL of a training worker to its row failing (qcluster), with the
   ORM broker and with Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/10;
   set it empty to skip).
Other developers' jobs share this 2-core machine: latencies are noisy.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from _setup import FACES, ROOT, setup_django, status_kb, stop

work = setup_django()

import requests  # noqa: E402

CLIENTS = 16
# Redis for the second kill measurement (empty: ORM broker only).
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
WSGI_APP = "facerecog_site.wsgi:application"
ROUNDS = 4
PY = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def wait_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            requests.get(f"{base}/api/", timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit("server did not start")


def vm(pid: int, key: str) -> int:
    """VmRSS / VmHWM of a process, in MB."""
    return status_kb(pid, key) // 1024


def make_user(username: str, *permissions: str) -> str:
    from django.contrib.auth.models import Permission, User
    from knox.models import AuthToken

    user = User.objects.create_user(username=username, password="bench-password-123")
    for permission in permissions:
        app, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    return AuthToken.objects.create(user=user)[1]


def gallery() -> dict[str, int]:
    from people.services import person_create
    from recognition.services.enroll import face_image_enroll
    from recognition.services.train import model_train, model_train_request

    ids = {}
    for folder in sorted(p for p in (FACES / "dev").iterdir() if p.is_dir())[:4]:
        person = person_create(name=folder.name)
        ids[folder.name] = person.pk
        for photo in sorted(folder.glob("*.jpg"))[:5]:
            face_image_enroll(person=person, source=photo.read_bytes(), name=photo.name)
    model_train(model_id=model_train_request(enqueue=False).pk)
    return ids


def concurrent_identify(base: str, people: dict[str, int]) -> None:
    from recognition.models import Identification

    tokens = [make_user(f"viewer{i}", "recognition.add_identification") for i in range(CLIENTS)]
    enroller = make_user("enroller", "people.add_faceimage")
    probes = [sorted((FACES / "dev" / name).glob("*.jpg"))[6] for name in people]
    extra = [
        (people[name], path)
        for name in people
        for path in sorted((FACES / "dev" / name).glob("*.jpg"))[7:9]
    ]
    results: list[tuple[str, int, float]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS + 2)

    def post(token: str, url: str, files: dict) -> None:  # type: ignore[type-arg]
        started = time.perf_counter()
        try:
            status = requests.post(
                base + url, files=files, headers={"Authorization": f"Token {token}"}, timeout=300
            ).status_code
        except requests.RequestException:
            status = 0
        with lock:
            results.append((url, status, time.perf_counter() - started))

    def identify(index: int) -> None:
        barrier.wait()
        for round_ in range(ROUNDS):
            probe = probes[(index + round_) % len(probes)]
            post(tokens[index], "/api/identify/", {"image": (probe.name, probe.read_bytes())})

    def enroll(jobs: list[tuple[int, Path]]) -> None:
        barrier.wait()
        for person_id, path in jobs:
            url = f"/api/people/{person_id}/faces/"
            post(enroller, url, {"images": (path.name, path.read_bytes())})

    threads = [threading.Thread(target=identify, args=(i,)) for i in range(CLIENTS)]
    threads += [threading.Thread(target=enroll, args=(extra[i::2],)) for i in range(2)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    identified = [r for r in results if r[0] == "/api/identify/"]
    errors = [r for r in identified if r[1] != 200]
    enroll_errors = [r for r in results if r[0] != "/api/identify/" and r[1] != 201]
    broken = sum(
        1
        for record in Identification.objects.prefetch_related("people")
        if record.known_count != record.people.count()
    )
    latencies = sorted(r[2] for r in identified)
    p95 = latencies[int(len(latencies) * 0.95)]
    print(
        f"[1] runserver + SQLite, {CLIENTS} identify clients x {ROUNDS} + 2 enrollment clients "
        f"x {len(extra) // 2}: {len(identified)} identifications, {len(errors)} errors, "
        f"{len(enroll_errors)} enrollment errors, {broken} audit rows not whole; "
        f"p50 {statistics.median(latencies):.2f} s, p95 {p95:.2f} s, "
        f"{len(identified) / elapsed:.1f} identifications/s"
    )


NAIVE = """
import io, sys, time
import numpy as np
from PIL import Image, ImageOps
def naive(data):
    # The decoder before this change: exif_transpose copy, float64 for deep grey,
    # RGBA composite of the whole photo, then RGB.
    image = Image.open(io.BytesIO(data)); image.load()
    image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I;16"):
        values = np.asarray(image, dtype=np.float64)
        grey = np.clip(np.rint(values * (255.0 / 65535.0)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    if image.mode == "RGBA":
        bg = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(bg, image)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
"""

MEASURE = """
import os, sys
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerecog_site.settings")
os.environ.setdefault("DEBUG", "true")
import django; django.setup()
from pathlib import Path
from recognition.analysis import Limits, analyze_all_faces, analyze_enrollment
from tests.hostile_corpus import CORPUS
faces = Path({faces!r})
def vm(key):
    for line in open("/proc/self/status"):
        if line.startswith(key): return int(line.split()[1]) // 1024
def big_face_jpeg():
    # A 6300 px wide JPEG of a real face (~37 MP): the costliest photo one may enroll.
    import io
    from PIL import Image
    source = sorted((faces / "dev_hires").rglob("*.jpg"))[0]
    with Image.open(source) as image:
        big = image.convert("RGB").resize((6300, 6300 * image.height // image.width))
    buffer = io.BytesIO()
    big.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()
if sys.argv[1] == "big_face.jpg":
    data, name, analyze = big_face_jpeg(), "big_face.jpg", "enroll"
else:
    case = [c for c in CORPUS if c.name == sys.argv[1]][0]
    data, name, analyze = case.build(faces), case.name, "identify"
small = sorted((faces / "dev" / "Tom_Cruise").glob("*.jpg"))[0].read_bytes()
limits = Limits.from_settings()
analyze_all_faces(small, name="warm-up.jpg", limits=limits)  # lazy imports, models
{naive}
base = vm("VmRSS")
if sys.argv[2] == "naive":
    naive(data)
elif analyze == "enroll":
    analyze_enrollment(data, name=name, limits=limits)
else:
    analyze_all_faces(data, name=name, limits=limits)
print(base, vm("VmHWM"))
"""


def bomb_memory() -> list[str]:
    from tests.hostile_corpus import CORPUS

    script = MEASURE.format(root=str(ROOT), faces=str(FACES), naive=NAIVE)
    lines = []
    names = [c.name for c in CORPUS if c.heavy] + ["big_face.jpg"]
    for name in names:
        peaks = {}
        for mode in ("naive", "ours"):
            out = subprocess.run(
                [PY, "-c", script, name, mode], capture_output=True, text=True, check=True
            ).stdout.split()
            base, peak = int(out[-2]), int(out[-1])
            peaks[mode] = peak - base
        what = "enrollment" if name == "big_face.jpg" else "identification"
        lines.append(
            f"[2] {name} ({what}): peak {peaks['ours']} MB above baseline "
            f"(previous decoder, decode alone: {peaks['naive']} MB; "
            f"ratio {peaks['ours'] / max(1, peaks['naive']):.2f})"
        )
    return lines


def parallel_bombs(base: str, pid: int) -> None:
    from tests.hostile_corpus import png_rgba_bomb

    token = make_user("bomber", "recognition.add_identification")
    data = png_rgba_bomb(FACES)
    before = vm(pid, "VmRSS")
    statuses: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        response = requests.post(
            f"{base}/api/identify/",
            files={"image": ("bomb.png", data)},
            headers={"Authorization": f"Token {token}"},
            timeout=300,
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok, busy = statuses.count(200), statuses.count(503)
    print(
        f"[2] {CLIENTS} RGBA bombs in parallel to runserver: server RSS {before} MB before, "
        f"peak {vm(pid, 'VmHWM')} MB; answers: {ok} x 200, {busy} x 503 server_busy, "
        f"others {len(statuses) - ok - busy}"
    )


def lockout_under_gunicorn() -> None:
    make_user("olga")
    token = make_user("vera", "recognition.add_identification")
    from recognition.models import TrainedModel

    # No active model: identify answers 409 at once, so only the throttle is measured.
    TrainedModel.objects.update(is_active=False)
    port = free_port()
    process = subprocess.Popen(
        [PY, "-m", "gunicorn", "--workers=2", f"--bind=127.0.0.1:{port}", WSGI_APP],
        cwd=ROOT,
        env=server_env(
            LOGIN_FAILURE_LIMIT="5", THROTTLE_LOGIN="1000/min", THROTTLE_IDENTIFY="10/min"
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base, process)
        close = {"Connection": "close"}
        for _ in range(5):
            requests.post(
                f"{base}/api/auth/token/",
                data={"username": "olga", "password": "x"},
                headers=close,
                timeout=30,
            )
        issued = sum(
            requests.post(
                f"{base}/api/auth/token/",
                data={"username": "olga", "password": "bench-password-123"},
                headers=close,
                timeout=30,
            ).status_code
            == 200
            for _ in range(10)
        )
        admitted = sum(
            requests.post(
                f"{base}/api/identify/",
                files={"image": ("a.jpg", b"x")},
                headers={"Authorization": f"Token {token}", **close},
                timeout=30,
            ).status_code
            != 429
            for _ in range(30)
        )
    finally:
        stop(process, timeout=30)
    print(
        f"[3] gunicorn --workers 2, no Redis: {issued} tokens issued for 10 correct passwords "
        f"during a lockout (expected 0); a 10/min identify throttle let {admitted} of 30 through"
    )


def main() -> None:
    people = gallery()
    port = free_port()
    server = subprocess.Popen(
        [PY, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=server_env(THROTTLE_IDENTIFY="100000/min", THROTTLE_ENROLL="100000/min"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base, server)
        concurrent_identify(base, people)
        parallel_bombs(base, server.pid)
    finally:
        stop(server, timeout=30)
    for line in bomb_memory():
        print(line)
    lockout_under_gunicorn()
    if not os.environ.get("BENCH_SKIP_KILL"):
        print(training_kill("ORM"))
        if BENCH_REDIS_URL:
            print(training_kill("Redis", BENCH_REDIS_URL))
    print(json.dumps({"work_dir": str(work)}))


def descendants(pid: int) -> list[int]:
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def training_kill(broker: str, redis_url: str = "") -> str:
    """SIGKILL the worker running a training; seconds until its row is failed.

    The training is requested over the API of a server sharing the cluster's broker
    (the database, or Redis when ``redis_url`` is given); this process only watches
    the row.
    """
    from django.conf import settings

    from recognition.models import TrainedModel

    token = make_user(f"trainer-{broker}", "recognition.add_trainedmodel")
    env = server_env(
        Q_SYNC="false",
        Q_CLUSTER_NAME=f"bench-{os.getpid()}-{broker}",
        FACE_TRAIN_EPOCHS="400",
        FACE_TRAIN_PATIENCE="400",
        REDIS_URL=redis_url,
    )
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    cluster = subprocess.Popen(
        [PY, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True, **quiet
    )
    port = free_port()
    server = subprocess.Popen(
        [PY, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        **quiet,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(base, server)
        answer = requests.post(
            f"{base}/api/models/train/", headers={"Authorization": f"Token {token}"}, timeout=60
        )
        job = TrainedModel.objects.get(pk=answer.json()["id"])
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status == TrainedModel.Status.RUNNING and job.epoch >= 1:
                break
            time.sleep(0.5)
        else:
            return f"[4] {broker}: the training never started running ({job.status})"
        worker = max(descendants(cluster.pid), key=cpu_ticks)
        os.kill(worker, signal.SIGKILL)
        killed = time.monotonic()
        while time.monotonic() - killed < 600:
            job.refresh_from_db()
            if job.status == TrainedModel.Status.FAILED:
                break
            time.sleep(1)
        waited = time.monotonic() - killed
        return (
            f"[4] {broker} broker: SIGKILL of the training worker (epoch {job.epoch}) -> row "
            f"{job.status} after {waited:.0f} s (FACE_TRAIN_HEARTBEAT "
            f"{settings.FACE_TRAIN_HEARTBEAT} s + the sweep every minute; before: the "
            f"1,800 s timeout): {job.error[:60]}"
        )
    finally:
        stop(server, timeout=30)
        stop(cluster, timeout=30)


if __name__ == "__main__":
    main()
