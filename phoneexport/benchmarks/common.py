import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def require_production_services() -> None:
    """Benchmarks measure the production set-up: PostgreSQL and Redis."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        raise SystemExit("Benchmarks need DATABASE_URL on PostgreSQL and REDIS_URL on Redis "
                         "(`make bench` sets both).")


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(title: str, headers: list[str], rows: list[list[object]], notes: list[str]) -> None:
    cells = [headers] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(headers))]
    line = "+-" + "-+-".join("-" * width for width in widths) + "-+"
    print(f"\n{title}")
    print(line)
    for number, row in enumerate(cells):
        print("| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths)) + " |")
        if number == 0:
            print(line)
    print(line)
    for note in notes:
        print(f"  {note}")


# One worker process per core: a process runs Python on one core at a time.
WORKER_PROCESSES = os.cpu_count() or 1


def start_workers(*, env: dict[str, str], concurrency: int, include: str = "",
                  log_name: str = "bench-worker") -> list[subprocess.Popen]:
    """Worker processes as production runs them (thread pools), logging to var/."""
    command = [sys.executable, "-m", "celery", "-A", "phoneexport", "worker", "--pool",
               "threads", "--concurrency", str(concurrency), "--loglevel", "WARNING",
               "--without-gossip", "--without-mingle",
               "-Q", ",".join(queue.name for queue in settings.CELERY_TASK_QUEUES)]
    if include:
        command += ["--include", include]
    workers = []
    for number in range(WORKER_PROCESSES):
        log_path = Path(settings.VAR_DIR) / f"{log_name}-{number}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "wb") as log:
            workers.append(subprocess.Popen(
                [*command, "--hostname", f"{log_name}-{number}@%h"], cwd=ROOT,
                env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT))
    time.sleep(3)  # connect and start the pools before the clock starts
    if any(worker.poll() is not None for worker in workers):
        raise SystemExit(f"A benchmark worker exited: see var/{log_name}-*.log")
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_for(condition, *, timeout: float, interval: float = 0.05) -> float:
    """Poll until condition() is true; the time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.time()
        time.sleep(interval)
    raise SystemExit(f"benchmark condition not met within {timeout} s")
