"""A load generator for HTTP endpoints: keep-alive connections replaying prepared requests.

Runs as its own process (`python -m phoneexport.benchmarks.loadgen`), so that the server's
figures are not its own. Reads one request per line (JSON: headers, body), POSTs them all to
one path, and prints one JSON line: requests, seconds, statuses, latency percentiles in ms.
"""

import argparse
import asyncio
import json
import sys
import time
from collections import Counter


async def _connection(host: str, port: int, requests: list[bytes], latencies: list[float],
                      statuses: Counter) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status_line.split()[1].decode()] += 1
    finally:
        writer.close()


def _encode(host: str, port: int, path: str, request: dict) -> bytes:
    body = request["body"].encode()
    headers = {"Host": f"{host}:{port}", "Content-Type": "application/json",
               "Content-Length": str(len(body)), "Connection": "keep-alive",
               **request["headers"]}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST {path} HTTP/1.1\r\n{head}\r\n".encode() + body


async def _run(host: str, port: int, requests: list[bytes], connections: int) -> dict:
    latencies: list[float] = []
    statuses: Counter = Counter()
    shares = [requests[index::connections] for index in range(connections)]
    started = time.perf_counter()
    await asyncio.gather(*(_connection(host, port, share, latencies, statuses)
                           for share in shares if share))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def at(share: float) -> float:
        return round(latencies[min(len(latencies) - 1, round(share * (len(latencies) - 1)))], 2)

    return {"requests": len(latencies), "seconds": round(elapsed, 3),
            "statuses": dict(statuses), "p50_ms": at(0.5), "p99_ms": at(0.99)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--path", default="/")
    parser.add_argument("requests_file")
    options = parser.parse_args()
    with open(options.requests_file) as lines:
        requests = [_encode(options.host, options.port, options.path, json.loads(line))
                    for line in lines]
    result = asyncio.run(_run(options.host, options.port, requests, options.connections))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
