"""Load test of ``dermnet serve`` on 127.0.0.1: one client against many, with batching.

Starts ``python -m dermnet.serve RUN`` in a subprocess, sends ``--requests`` single-image
``POST /v1/predict`` requests from 1 client and then from ``--clients`` concurrent
clients, and compares the throughput with calling the model directly on the same images
(the files' bytes decoded by `dermnet.data.image_batches.ImageBatchReader`, as the server
does, then `dermnet.train.RunFolder.score`, in batches of ``--max-batch``, a metadata
run given the same all-missing metadata row as the server, encoded once). Reports
requests/s, p50/p95/p99 latency, errors, and the server's resident memory before,
during (sampled every 0.25 s) and after the load (steady memory: no growth per request,
``second_half_growth`` near 0).

Targets (the issue's): concurrent throughput >= 0.8x the direct model call, zero errors.

    python benchmarks/bench_serve.py                       # 2,000 requests, 16 clients
    python benchmarks/bench_serve.py --quick               # a smoke run (100, 4 clients)
    python benchmarks/bench_serve.py --run runs/cli_cpu_best --images /data/derm/ham10000/images

The images default to ``$DERMNET_DATA_ROOT/ham10000/images`` (`dermnet.data.data_root`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RUN = REPO / "tests" / "files" / "run_schema1"


def _default_images() -> Path | None:
    """``$DERMNET_DATA_ROOT/ham10000/images``, or ``None`` where it is not set up."""
    from dermnet import MissingFileError
    from dermnet.data import data_root

    try:
        return data_root("ham10000") / "images"
    except MissingFileError as exc:
        print(f"bench_serve: {exc}", file=sys.stderr)
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    """One ``files`` upload as a multipart/form-data body and its content type."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _load(url: str, files: list[Path], requests_total: int, clients: int) -> dict:
    """``clients`` threads, each with its own keep-alive connection, post the uploads.

    The client is kept light (each multipart body built once, sent with `http.client`)
    because it shares the machine's cores with the server: a heavy client would measure
    itself. The server parses every body as it would any browser's or script's.
    """
    parsed = urllib.parse.urlsplit(url)
    payloads = [_multipart(f.name, f.read_bytes()) for f in files]
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(requests_total))
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                connection.close()
                return
            body, content_type = payloads[i % len(payloads)]
            start = time.perf_counter()
            try:
                connection.request(
                    "POST", "/v1/predict", body=body, headers={"Content-Type": content_type}
                )
                response = connection.getresponse()
                text = response.read()
                ok = response.status == 200
                problem = "" if ok else f"{response.status} {text[:100]!r}"
            except (OSError, http.client.HTTPException) as exc:
                ok, problem = False, repr(exc)
                connection.close()
                connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
            with lock:
                latencies.append(time.perf_counter() - start)
                if not ok:
                    errors.append(problem)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {
        "clients": clients,
        "requests": requests_total,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(requests_total / elapsed, 1),
        "p50_ms": round(1000 * _percentile(latencies, 50), 1),
        "p95_ms": round(1000 * _percentile(latencies, 95), 1),
        "p99_ms": round(1000 * _percentile(latencies, 99), 1),
        "mean_ms": round(1000 * statistics.fmean(latencies), 1),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def _direct(run: Path, files: list[Path], total: int, batch: int) -> dict:
    import numpy as np

    from dermnet.data.image_batches import ImageBatchReader
    from dermnet.train import RunFolder

    folder = RunFolder(run)
    model = folder.load_model()
    reader = ImageBatchReader(folder.data_config)
    data = [files[i % len(files)].read_bytes() for i in range(total)]

    encoder = folder.metadata_encoder()
    missing_row = None
    if encoder is not None:  # what the server gives uploads: every value missing, the
        import pandas as pd  # same row for each image, encoded once (as the server does)

        from dermnet.data import Records

        columns = list(folder.info.get("metadata_cols", ()))
        frame = pd.DataFrame({"image_path": ["upload"], "label": [folder.classes[0]]})
        for col in columns:
            frame[col] = np.nan
        missing_row = encoder.transform(
            Records(frame, folder.classes, metadata_cols=tuple(columns))
        )

    def score(items: list[bytes]) -> None:
        images = reader.read(items).images
        metadata = None if missing_row is None else np.repeat(missing_row, len(images), 0)
        folder.score(model, images, metadata, batch_size=batch)

    score(data[:batch])  # warm up
    start = time.perf_counter()
    for i in range(0, total, batch):
        score(data[i : i + batch])
    elapsed = time.perf_counter() - start
    return {
        "images": total,
        "seconds": round(elapsed, 2),
        "images_per_s": round(total / elapsed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=DEFAULT_RUN)
    parser.add_argument("--images", type=Path, default=None, help="default: data_root")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--batch-wait-ms", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="100 requests, 4 clients")
    parser.add_argument("--output", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.clients = 100, 4
    if args.images is None:
        args.images = _default_images()
        if args.images is None:
            return 1
    files = sorted(args.images.glob("*.jpg"))[:64]
    if not files:
        print(f"bench_serve: no .jpg images in {args.images}", file=sys.stderr)
        return 1
    import requests

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    server = subprocess.Popen(
        [
            sys.executable, "-m", "dermnet.serve", str(args.run), "--port", str(port),
            "--max-batch", str(args.max_batch), "--batch-wait-ms", str(args.batch_wait_ms),
            "--queue-size", str(max(64, 2 * args.clients)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )  # fmt: skip
    try:
        for _ in range(600):
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        else:
            print("bench_serve: the server did not start", file=sys.stderr)
            return 1
        _load(url, files, min(20, args.requests), 1)  # warm up
        memory_before = _rss_mb(server.pid)
        single = _load(url, files, max(1, args.requests // 10), 1)
        samples: list[float] = []
        done = threading.Event()

        def sample_memory() -> None:  # the server's RSS every 0.25 s under load
            while not done.wait(0.25):
                samples.append(_rss_mb(server.pid))

        sampler = threading.Thread(target=sample_memory, daemon=True)
        sampler.start()
        concurrent = _load(url, files, args.requests, args.clients)
        done.set()
        sampler.join()
        memory_after = _rss_mb(server.pid)
        health = requests.get(f"{url}/health", timeout=5).json()
    finally:
        server.terminate()
        server.wait(60)
    direct = _direct(args.run, files, max(args.max_batch, args.requests // 4), args.max_batch)
    result = {
        "run": str(args.run),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "single_client": single,
        "concurrent": concurrent,
        "direct_model": direct,
        "ratio_concurrent_to_direct": round(
            concurrent["requests_per_s"] / direct["images_per_s"], 2
        ),
        "server_batches": health["batches"],
        "server_largest_batch": health["largest_batch"],
        "mean_images_per_batch": round(health["images"] / max(1, health["batches"]), 2),
        "server_rss_mb": {
            "before": round(memory_before, 1),
            "under_load_min": round(min(samples, default=memory_after), 1),
            "under_load_max": round(max(samples, default=memory_after), 1),
            # growth over the second half of the concurrent load: ~0 when memory is steady
            "second_half_growth": round(
                memory_after - (samples[len(samples) // 2] if samples else memory_after), 1
            ),
            "after": round(memory_after, 1),
        },
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
