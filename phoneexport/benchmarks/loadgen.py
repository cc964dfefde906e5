"""A load generator for HTTP endpoints: keep-alive connections replaying prepared requests.

Runs as its own process (`python -m phoneexport.benchmarks.loadgen`), so that the server's
figures are not its own. Reads one request per line (JSON: headers, body), POSTs them all to
one path, and prints one JSON line: requests, seconds, statuses, latency percentiles in ms.

Two ways to load:
- closed (the default): each connection sends its next request as soon as the last is
  answered. It finds the most the server can take; each latency is then mostly the wait
  behind the other connections (connections / throughput, by Little's law).
- paced (`--rate R`): requests start at R per second whatever the answers, as a supplier's
  events arrive, on up to `--connections` keep-alive connections. Each latency counts from
  the moment its request was due, so a server that falls behind shows it in full.
"""

import argparse
import asyncio
import json
import sys
import time
from collections import Counter


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    request: bytes) -> str:
    """Send one request and read its whole answer; returns the status code."""
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status_line.split()[1].decode()


async def _connection(host: str, port: int, requests: list[bytes], latencies: list[float],
                      statuses: Counter) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            started = time.perf_counter()
            statuses[await _exchange(reader, writer, request)] += 1
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        writer.close()


async def _paced(host: str, port: int, requests: list[bytes], latencies: list[float],
                 statuses: Counter, *, connections: int, rate: float) -> None:
    idle: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await asyncio.open_connection(host, port))

    async def send(request: bytes, due: float) -> None:
        reader, writer = await idle.get()
        try:
            statuses[await _exchange(reader, writer, request)] += 1
            latencies.append((time.perf_counter() - due) * 1000)
        finally:
            idle.put_nowait((reader, writer))

    sent = []
    started = time.perf_counter()
    for index, request in enumerate(requests):
        due = started + index / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        sent.append(asyncio.create_task(send(request, due)))
    await asyncio.gather(*sent)
    while not idle.empty():
        idle.get_nowait()[1].close()


def _encode(host: str, port: int, path: str, request: dict) -> bytes:
    body = request["body"].encode()
    headers = {"Host": f"{host}:{port}", "Content-Type": "application/json",
               "Content-Length": str(len(body)), "Connection": "keep-alive",
               **request["headers"]}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST {path} HTTP/1.1\r\n{head}\r\n".encode() + body


async def _run(host: str, port: int, requests: list[bytes], connections: int,
               rate: float | None) -> dict:
    latencies: list[float] = []
    statuses: Counter = Counter()
    started = time.perf_counter()
    if rate:
        await _paced(host, port, requests, latencies, statuses, connections=connections,
                     rate=rate)
    else:
        shares = [requests[index::connections] for index in range(connections)]
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
    parser.add_argument("--rate", type=float, help="requests per second, paced")
    parser.add_argument("requests_file")
    options = parser.parse_args()
    with open(options.requests_file) as lines:
        requests = [_encode(options.host, options.port, options.path, json.loads(line))
                    for line in lines]
    result = asyncio.run(_run(options.host, options.port, requests, options.connections,
                              options.rate))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
