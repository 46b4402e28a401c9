"""Feed serving: coordbot's calendar web server (bot/web.py on loopback) against a minimal
aiohttp server that serves the same bytes with the same ETag handling, side by side in one run.

The registry has 1,000 events (bench/synthetic.py `event_registry`: each names the 20 holders of
its two contact roles), once with those 20 people and once grown to 10,000 people
(`feed_registry`): the programme feed is byte-identical at both sizes (checked), so any
difference in time is the cost of the registry's size. The registry is written to a SQLite
database and read back through coordbot's own Registry, as `coordbot run` does.

For each size it prints:

- feed built: a 200 the server has to build (a fresh server each round, one request for each of
  en, nb and nn): the first such request, and the median of all;
- 200 and 304 (If-None-Match with the feed's ETag) under load: requests/s and p50/p99 latency
  for coordbot's server and for the minimal server, measured alternately, best of `--rounds`;

and the ratios against the targets: a built feed at 10,000 people vs 20 people (<= 1.2x), and
coordbot's 304 rate vs the minimal server's (>= 0.8).

The load comes from one process: wrk (the Debian package `wrk`) when it is installed, else an
aiohttp client with `--connections` concurrent requests in a child process. The output says which.

    python bench/serve.py [--people 20,10000] [--events 1000] [--seconds 3] [--rounds 3]
                          [--connections 16] [--client auto|wrk|aiohttp]
"""

# ruff: noqa: E402  (the path fix below must run before the imports after it)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where bench/calendar.py would hide the
# standard library's calendar module: the repository root goes there instead.
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import argparse
import asyncio
import hashlib
import json
import logging
import os
import re
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass

import aiohttp
from aiohttp import web

FEED = "programme"
LANGS = ("en", "nb", "nn")


@dataclass(frozen=True)
class Load:
    """One load run's figures."""

    rate: float  # requests/s
    p50_ms: float
    p99_ms: float


# --- the minimal server ----------------------------------------------------------------------


def minimal_app(document: bytes, headers: dict[str, str]) -> web.Application:
    """An aiohttp application serving `document` at /calendar/programme.ics with the ETag (and
    the other headers) coordbot's server sent for it: If-None-Match with weak comparison and
    `*` gives 304, as in bot/web.py. No registry, no cache, no thread."""
    etag = headers["ETag"]
    wanted = etag.strip('"')

    def matches(header: str | None) -> bool:
        if not header:
            return False
        for item in header.split(","):
            tag = item.strip()
            if tag == "*":
                return True
            if tag.startswith("W/"):
                tag = tag[2:]
            if tag.strip('"') == wanted:
                return True
        return False

    async def feed(request: web.Request) -> web.Response:
        if matches(request.headers.get("If-None-Match")):
            return web.Response(status=304, headers=headers)
        return web.Response(
            body=document, headers=headers, content_type="text/calendar", charset="utf-8"
        )

    app = web.Application()
    app.router.add_get(f"/calendar/{FEED}.ics", feed)
    return app


# --- load generators -------------------------------------------------------------------------


def _wrk_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def wrk_load(url: str, etag: str | None, seconds: float, connections: int) -> Load:
    """wrk, one thread (the machine's other core serves), `connections` connections."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    if etag is not None:
        command += ["-H", f"If-None-Match: {etag}"]
    process = await asyncio.create_subprocess_exec(
        *command, url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    text = out.decode()
    if process.returncode != 0 or "Non-2xx or 3xx" in text or "Socket errors" in text:
        raise RuntimeError(f"wrk failed or saw errors:\n{text}{err.decode()}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    p50 = _wrk_ms(re.search(r"\s50%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    p99 = _wrk_ms(re.search(r"\s99%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    return Load(rate, p50, p99)


async def aiohttp_load(url: str, etag: str | None, seconds: float, connections: int) -> Load:
    """This script as a child process (`--load`): an aiohttp client, `connections` at once."""
    command = [sys.executable, __file__, "--load", url, "--seconds", str(seconds)]
    command += ["--connections", str(connections)] + (["--etag", etag] if etag else [])
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    out, _err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError("the aiohttp load generator failed")
    return Load(**json.loads(out))


async def _client_main(url: str, etag: str | None, seconds: float, connections: int) -> Load:
    """The load generator's own loop: every worker sends requests back to back."""
    headers = {"If-None-Match": etag} if etag else {}
    expected = 304 if etag else 200
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as http:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                async with http.get(url, headers=headers) as response:
                    await response.read()
                    if response.status != expected:
                        raise RuntimeError(f"{url}: {response.status}, expected {expected}")
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return Load(
        len(latencies) / elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    )


# --- one registry size -----------------------------------------------------------------------


@dataclass
class SizeFigures:
    """What one registry size measured."""

    people: int
    digest: str
    size: int
    first_build_ms: float
    built_ms: list[float]
    loads: dict[tuple[str, str], Load]  # (server, "200"|"304") -> best round


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes, dict[str, str]]:
    kept = ("ETag", "Last-Modified", "Cache-Control", "Content-Disposition")
    async with http.get(url) as response:
        headers = {k: response.headers[k] for k in kept if k in response.headers}
        return response.status, await response.read(), headers


async def measure_size(people: int, args: argparse.Namespace, client: str) -> SizeFigures:
    """Write the registry of `people` to a fresh database, then measure both servers."""
    from bench.synthetic import feed_registry
    from bot.clock import SystemClock
    from bot.config import load_config
    from bot.registry.data import load_registry_file
    from bot.services import build_services
    from bot.web import CalendarServer

    with tempfile.TemporaryDirectory() as tmp:
        for name in [n for n in os.environ if n.startswith("COORDBOT_")]:
            del os.environ[name]
        os.environ["COORDBOT_BOT_DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        os.environ["COORDBOT_CALENDAR_LISTEN"] = "127.0.0.1:0"
        config = load_config()
        services = build_services(config, SystemClock(), seed=False)
        try:
            services.db.create_schema()
            data = feed_registry(load_registry_file(config.data_file), args.events, people)
            services.registry.replace(data)
            await asyncio.to_thread(services.registry.snapshot)  # read once, as a running bot has

            # Built feeds: a fresh server (nothing cached) each round, one request per language.
            built: list[float] = []
            document, headers = b"", {}
            async with aiohttp.ClientSession() as http:
                for _round in range(args.build_rounds):
                    server = CalendarServer(services)
                    await server.start()
                    try:
                        for lang in LANGS:
                            url = f"{server.base_url}/calendar/{FEED}.ics?lang={lang}"
                            began = time.perf_counter()
                            status, body, sent = await _get(http, url)
                            built.append((time.perf_counter() - began) * 1000)
                            assert status == 200, status
                            if lang == "en":
                                document, headers = body, sent
                    finally:
                        await server.stop()

            # Under load: coordbot's server and the minimal one, alternately.
            server = CalendarServer(services)
            await server.start()
            minimal = web.AppRunner(minimal_app(document, headers), access_log=None)
            await minimal.setup()
            site = web.TCPSite(minimal, "127.0.0.1", 0)
            await site.start()
            minimal_port = minimal.addresses[0][1]
            urls = {
                "coordbot": f"{server.base_url}/calendar/{FEED}.ics",
                "minimal": f"http://127.0.0.1:{minimal_port}/calendar/{FEED}.ics",
            }
            etag = headers["ETag"]
            loads: dict[tuple[str, str], Load] = {}
            run = wrk_load if client == "wrk" else aiohttp_load
            try:
                async with aiohttp.ClientSession() as http:
                    for url in urls.values():  # both answer as the load expects
                        status, body, _ = await _get(http, url)
                        assert status == 200 and body == document, (url, status)
                        async with http.get(url, headers={"If-None-Match": etag}) as response:
                            assert response.status == 304, (url, response.status)
                for _round in range(args.rounds):
                    for kind in ("200", "304"):
                        for name, url in urls.items():
                            figure = await run(
                                url, etag if kind == "304" else None, args.seconds, args.connections
                            )
                            best = loads.get((name, kind))
                            if best is None or figure.rate > best.rate:
                                loads[(name, kind)] = figure
            finally:
                await minimal.cleanup()
                await server.stop()
        finally:
            services.close()
    return SizeFigures(
        people,
        hashlib.sha256(document).hexdigest()[:16],
        len(document),
        built[0],
        built,
        loads,
    )


def _load_line(label: str, load: Load) -> str:
    return (
        f"{label:<10} {load.rate:9,.0f} req/s  p50 {load.p50_ms:7.2f} ms  p99 {load.p99_ms:7.2f} ms"
    )


async def main_async(args: argparse.Namespace) -> int:
    """Measure every size and print the figures and ratios."""
    # The server warns that loopback links reach nobody else: true, and not what is measured.
    logging.getLogger("coordbot.web").setLevel(logging.ERROR)
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "aiohttp"
    sizes = [int(n) for n in args.people.split(",")]
    print(
        f"feed serving: {args.events} events, programme feed; load from {client} "
        f"({args.connections} connections, {args.seconds:g} s per run, best of {args.rounds})"
    )
    results: list[SizeFigures] = []
    for people in sizes:
        figures = await measure_size(people, args, client)
        results.append(figures)
        print(f"\n{people:,} people: feed {figures.size / 1024:,.0f} KiB (sha256 {figures.digest})")
        print(
            f"  feed built (200 from a fresh server): first {figures.first_build_ms:,.0f} ms, "
            f"median {statistics.median(figures.built_ms):,.0f} ms of {len(figures.built_ms)}"
        )
        for kind in ("200", "304"):
            for name in ("coordbot", "minimal"):
                print("  " + _load_line(f"{kind} {name}", figures.loads[(name, kind)]))
        ratio = figures.loads[("coordbot", "304")].rate / figures.loads[("minimal", "304")].rate
        print(f"  304 rate, coordbot / minimal: {ratio:.2f} (target >= 0.8)")
        ratio = figures.loads[("coordbot", "200")].rate / figures.loads[("minimal", "200")].rate
        print(f"  200 rate, coordbot / minimal: {ratio:.2f}")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        same = "yes" if len({r.digest for r in results}) == 1 else "NO"
        print(f"\nsame feed bytes at every size: {same}")
        ratio = statistics.median(large.built_ms) / statistics.median(small.built_ms)
        print(
            f"feed built, {large.people:,} vs {small.people:,} people: {ratio:.2f}x "
            "(median; target <= 1.2x)"
        )
        ratio = large.first_build_ms / small.first_build_ms
        print(f"  first build, {large.people:,} vs {small.people:,} people: {ratio:.2f}x")
        for kind in ("200", "304"):
            ratio = small.loads[("coordbot", kind)].rate / large.loads[("coordbot", kind)].rate
            print(
                f"coordbot {kind} time, {large.people:,} vs {small.people:,} people: {ratio:.2f}x"
            )
    return 0


def main() -> int:
    """Parse the arguments; either the benchmark or (`--load`) its aiohttp load generator."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", default="20,10000")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--build-rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--client", choices=("auto", "wrk", "aiohttp"), default="auto")
    parser.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--etag", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load = asyncio.run(_client_main(args.load, args.etag, args.seconds, args.connections))
        print(json.dumps(load.__dict__))
        return 0
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
