"""Load on `make serve`: identification throughput and latency at 1 / 4 / 16 clients.

    .venv/bin/python bench/load.py [--stacks sqlite,postgres] [--seconds 8] [--rounds 3]

For each stack (the default SQLite + ORM broker; PostgreSQL database facerecog_bench12 +
Redis db 12), it prepares a throw-away database and media folder under .bench-work/ in
the checkout (enroll_folder on 5 dev/ people x 5 photos, train), starts
``scripts/serve.sh`` twice on the same data: with one worker per core on
127.0.0.1:8120 and with one worker on :8121, and sends
POST /api/identify/ with one 150 px LFW photo from N client threads, each request on
a new connection. Baseline: the raw engine (decode + detect + encode on the same
photo, no Django, no HTTP) in 1 and in 2 processes at once, with the workers' thread
settings. The machine is shared, so every configuration runs in turn for --seconds,
round after round (--rounds), and figures add up the rounds: each sees the same
background load. Every window stops by itself (time, and --max-requests). Printed per
configuration: req/s, p50, p99, errors (anything but 200, 429 and 503, and failed
connections), 429 and 503 counts, RSS of each gunicorn worker, and the ratio to the raw
engine in as many processes. The identify throttle is raised for the run
(THROTTLE_IDENTIFY). Asserts nothing. Only loopback traffic.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _setup import FACES, ROOT, status_kb, stop

PY = str(ROOT / ".venv" / "bin" / "python")
PHOTO = FACES / "dev" / "Tom_Cruise" / "Tom_Cruise_0001.jpg"
PEOPLE = ["Arnold_Schwarzenegger", "Gordon_Brown", "Jennifer_Lopez", "Kim_Clijsters", "Tom_Cruise"]
HOST, PORT, PORT_ONE_WORKER = "127.0.0.1", 8120, 8121
PG_DB, REDIS_DB = "facerecog_bench12", 12
LEVELS = (1, 4, 16)
OVERLOAD_CLIENTS = 64
# The throw-away database and media live in the checkout, on the filesystem of the
# default MEDIA_ROOT (./media) and db.sqlite3, not in /tmp: every identification writes
# a review crop, and on this machine creating a file in /tmp costs ~0.5 ms of CPU, in
# the checkout ~0.05 ms (measured with os.open(O_CREAT | O_EXCL)).
WORK = ROOT / ".bench-work"


@dataclass
class Level:
    label: str
    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    rss_mb: list[float] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.statuses.get("200", 0)

    @property
    def errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s not in {"200", "429", "503"})

    def line(self, engine_rate: float | None) -> str:
        lat = sorted(self.latencies) or [0.0]
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        rate = self.ok / self.seconds if self.seconds else 0.0
        ratio = f"{rate / engine_rate:.2f}x engine" if engine_rate else ""
        rss = "/".join(f"{r:.0f}" for r in self.rss_mb)
        return (
            f"  {self.label:<24} {rate:6.1f} req/s  p50 {p50:6.0f} ms  p99 {p99:6.0f} ms  "
            f"ok {self.ok:5d}  errors {self.errors}  429 {self.statuses.get('429', 0)}  "
            f"503 {self.statuses.get('503', 0)}  RSS/worker {rss} MB  {ratio}"
        )


def multipart(photo: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
            f'filename="{photo.name}"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        + photo.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def request_bytes(token: str, *, port: int) -> bytes:
    """The whole identify request, built once: each client sends it on a new connection."""
    body, content_type = multipart(PHOTO)
    head = (
        f"POST /api/identify/ HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Authorization: Token {token}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def exchange(request: bytes, *, port: int) -> str:
    """Send one request, read the answer to the end; its status ("200-no-face" when the
    answer names no face: a wrong answer counts as an error)."""
    with socket.create_connection((HOST, port), timeout=60) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head[9:12].decode() or "empty"
    if status == "200" and not json.loads(body)["faces"]:
        status = "200-no-face"
    return status


def run_level(
    level: Level, token: str, *, seconds: float, max_requests: int, port: int = PORT
) -> None:
    # Raw sockets, not http.client: the load generator shares the two cores with the
    # server, and http.client's header parsing cost it ~0.6 ms of CPU a request.
    request = request_bytes(token, port=port)
    lock = threading.Lock()
    sent = [0]
    stop_at = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < stop_at:
            with lock:
                if sent[0] >= max_requests:
                    return
                sent[0] += 1
            started = time.perf_counter()
            try:
                status = exchange(request, port=port)
            except (OSError, ValueError) as exc:
                status = type(exc).__name__
            elapsed = time.perf_counter() - started
            with lock:
                level.statuses[status] = level.statuses.get(status, 0) + 1
                if status == "200":
                    level.latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(level.clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    level.seconds += time.monotonic() - began


# --- the server -----------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def worker_rss(serve_pid: int) -> list[float]:
    masters = [p for p in children(serve_pid) if "gunicorn" in cmdline(p)]
    rss = []
    for master in masters:
        for worker in children(master):
            rss.append(status_kb(worker, "VmRSS") / 1024)
    return sorted(rss)


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def prepare(env: dict[str, str], work: Path) -> str:
    """Migrate, enroll, train; returns an API token of a viewer."""
    folder = work / "people"
    for person in PEOPLE:
        (folder / person).mkdir(parents=True)
        for photo in sorted((FACES / "dev" / person).glob("*.jpg"))[:5]:
            (folder / person / photo.name).symlink_to(photo)
    manage(env, "migrate", "--noinput")
    manage(env, "enroll_folder", str(folder), "--workers", "2")
    manage(env, "train")
    script = (
        "from django.contrib.auth.models import Group, User; from knox.models import AuthToken; "
        "u = User.objects.create_user('bench'); u.groups.add(Group.objects.get(name='viewers')); "
        "print(AuthToken.objects.create(user=u)[1])"
    )
    return manage(env, "shell", "-c", script).strip().splitlines()[-1]


def start_server(env: dict[str, str], workers: int, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    process = subprocess.Popen(
        ["bash", "scripts/serve.sh"],
        cwd=ROOT,
        env={**env, "WEB_WORKERS": str(workers)},
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"serve.sh exited: see {log}")
        text = log.read_text(errors="replace")
        if text.count("worker ready:") >= workers and " running." in text:
            return process
        time.sleep(0.5)
    stop(process, timeout=20)
    raise SystemExit(f"serve.sh did not become ready in 180 s: see {log}")


# --- the raw engine -------------------------------------------------------------------


def _engine_worker(commands: Any, results: Any) -> None:
    """Warm up, then for each command (seconds) count photos analysed; None ends."""
    sys.path.insert(0, str(ROOT))
    import cv2

    from recognition.images import decode
    from recognition.ml import faces
    from recognition.ml.engine import DEFAULT_ENGINE, get_engine

    engine = get_engine(os.environ.get("FACE_ENGINE", DEFAULT_ENGINE))
    cv2.setNumThreads(1)
    data = PHOTO.read_bytes()
    limits = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 40_000_000}
    faces.find_faces(decode(data, name=PHOTO.name, **limits).rgb, engine=engine, scan_side=None)
    results.put("ready")
    while (command := commands.get()) is not None:
        start, seconds = command
        while time.time() < start:
            time.sleep(0.005)
        done = 0
        while time.time() < start + seconds:
            image = decode(data, name=PHOTO.name, **limits)
            assert len(faces.find_faces(image.rgb, engine=engine, scan_side=None)) == 1
            done += 1
        results.put(done)


class Engine:
    """``cores`` warm engine processes; ``run(n, seconds)`` uses the first n at once."""

    def __init__(self, cores: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.commands = [context.Queue() for _ in range(cores)]
        self.results = context.Queue()
        self.jobs = [
            context.Process(target=_engine_worker, args=(q, self.results), daemon=True)
            for q in self.commands
        ]
        for job in self.jobs:
            job.start()
        for _ in self.jobs:
            assert self.results.get(timeout=300) == "ready"
        self.done: dict[int, tuple[int, float]] = {}

    def run(self, processes: int, seconds: float) -> None:
        start = time.time() + 0.2
        for queue in self.commands[:processes]:
            queue.put((start, seconds))
        total = sum(self.results.get(timeout=seconds + 60) for _ in range(processes))
        count, spent = self.done.get(processes, (0, 0.0))
        self.done[processes] = (count + total, spent + seconds)

    def rate(self, processes: int) -> float:
        count, spent = self.done.get(processes, (0, 0.0))
        return count / spent if spent else 0.0

    def close(self) -> None:
        for queue in self.commands:
            queue.put(None)
        for job in self.jobs:
            job.join(timeout=10)


# --- one stack ------------------------------------------------------------------------


def stack_env(stack: str, work: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "Q_SYNC", "REDIS_URL", "DATABASE_URL", "DEBUG"}
    }
    env.update(
        MEDIA_ROOT=str(work / "media"),
        STATIC_ROOT=str(work / "static"),
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_SSL_REDIRECT="false",
        RUN_ADDRESS=f"{HOST}:{PORT}",
        THROTTLE_IDENTIFY="1000000/min",
        Q_CLUSTER_NAME=f"bench12-{os.getpid()}",
    )
    if stack == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{work / 'db.sqlite3'}"
    else:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            c.execute(f"CREATE DATABASE {PG_DB}")
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
        env["REDIS_URL"] = f"redis://127.0.0.1:6379/{REDIS_DB}"
        env["DATABASE_CONN_MAX_AGE"] = "60"
    return env


def bench_stack(stack: str, *, seconds: float, rounds: int, max_requests: int) -> list[str]:
    WORK.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"load-{stack}-", dir=WORK))
    env = stack_env(stack, work)
    token = prepare(env, work)
    cores = len(os.sched_getaffinity(0))
    lines = [f"{stack}: (logs in {work})"]
    servers = [
        start_server(env, cores, work / "serve-all.log"),
        start_server(
            {**env, "RUN_ADDRESS": f"{HOST}:{PORT_ONE_WORKER}"}, 1, work / "serve-one.log"
        ),
    ]
    engine = Engine(cores)
    try:
        for port in (PORT, PORT_ONE_WORKER):
            run_level(Level("warm-up", 2), token, seconds=3, max_requests=20, port=port)
        many = {n: Level(f"{cores} workers, {n:2d} clients", n) for n in LEVELS}
        one = Level("1 worker,   4 clients", 4)
        for _ in range(rounds):
            engine.run(1, seconds)
            engine.run(cores, seconds)
            run_level(one, token, seconds=seconds, max_requests=max_requests, port=PORT_ONE_WORKER)
            for level in many.values():
                run_level(level, token, seconds=seconds, max_requests=max_requests)
        for level in many.values():
            level.rss_mb = worker_rss(servers[0].pid)
        one.rss_mb = worker_rss(servers[1].pid)
        overload = Level(f"{cores} workers, {OVERLOAD_CLIENTS} clients", OVERLOAD_CLIENTS)
        run_level(overload, token, seconds=seconds * 2, max_requests=max_requests)
        overload.rss_mb = worker_rss(servers[0].pid)
        lines += [
            f"  raw engine, 1 process:  {engine.rate(1):.1f} photos/s; "
            f"{cores} processes: {engine.rate(cores):.1f} photos/s "
            f"({engine.rate(cores) / max(engine.rate(1), 1e-9):.2f}x)",
            *(level.line(engine.rate(cores)) for level in many.values()),
            one.line(engine.rate(1)),
            overload.line(engine.rate(cores)) + "  (overload)",
        ]
        best = max(level.ok / level.seconds for level in many.values())
        lines.append(
            f"  {cores} workers / 1 worker (best level / 4 clients): "
            f"{best / max(one.ok / one.seconds, 1e-9):.2f}x"
        )
    finally:
        engine.close()
        for server in servers:
            stop(server, timeout=20)
        shutil.rmtree(work / "media", ignore_errors=True)
    for line in lines:
        print(line, flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stacks", default="sqlite,postgres")
    parser.add_argument("--seconds", type=float, default=8.0, help="per window")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-requests", type=int, default=3000, help="per window")
    args = parser.parse_args()
    # SIGTERM (timeout, Ctrl-C's cousin) still stops the servers it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Same thread pools as a gunicorn worker (facerecog_site/gunicorn_conf.py).
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    cores = len(os.sched_getaffinity(0))
    print(f"photo {PHOTO.relative_to(FACES)}; {cores} cores; load average {os.getloadavg()}")
    report = []
    for stack in args.stacks.split(","):
        report += bench_stack(
            stack, seconds=args.seconds, rounds=args.rounds, max_requests=args.max_requests
        )
    print("\nsummary (ratio: server req/s / raw engine in as many processes as workers)")
    print("\n".join(report))
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
