"""Separate hosts on one machine: network namespaces joined to it by veth pairs.

Each `Host` is a network namespace with its own loopback and one veth pair to
the machine, and nothing else: a process inside cannot reach the machine's
127.0.0.1. The shared services (PostgreSQL, Redis, the S3 server) stay on the
machine's loopback; a `Relay` in the machine's namespace listens on the
host's side of the veth pair and relays to one of them, as a router would.
A relay can be paused (bytes stop flowing both ways), which is how a test
holds a worker mid-task.

Everything here needs root and `ip`; `Host.create` raises HostsUnavailable
where namespaces cannot be made.
"""

import asyncio
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


class HostsUnavailable(RuntimeError):
    """Network namespaces cannot be made here (not root, no `ip`, no kernel support)."""


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise HostsUnavailable(f"`ip {' '.join(args)}` failed: {result.stderr.strip()}")


def _subnets_in_use() -> list[ipaddress.IPv4Network]:
    result = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=False)
    networks = []
    for line in result.stdout.splitlines():
        parts = line.split()
        if "inet" in parts:
            networks.append(ipaddress.ip_interface(parts[parts.index("inet") + 1]).network)
    return networks


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.200.0.0/13 that no interface of the machine uses."""
    used = _subnets_in_use()
    for _ in range(50):
        candidate = ipaddress.ip_network(f"10.{200 + secrets.randbelow(8)}.{secrets.randbelow(256)}.0/24")
        if not any(candidate.overlaps(network) for network in used):
            return candidate
    raise HostsUnavailable("no free 10.200.0.0/13 subnet for the test hosts")


@dataclass
class Host:
    """A network namespace with a veth pair to the machine: `address` inside, `gateway` on the machine's side."""

    namespace: str
    address: str
    gateway: str
    processes: list[subprocess.Popen] = field(default_factory=list)

    @classmethod
    def create(cls, label: str) -> "Host":
        if os.geteuid() != 0 or shutil.which("ip") is None:
            raise HostsUnavailable("network namespaces need root and the `ip` command (iproute2)")
        tag = secrets.token_hex(3)
        namespace, outside, inside = f"emomusic-{label}-{tag}", f"emo{tag}{label[:3]}h", f"emo{tag}{label[:3]}n"
        subnet = free_subnet()
        gateway, address = str(subnet.network_address + 1), str(subnet.network_address + 2)
        _ip("netns", "add", namespace)
        host = cls(namespace=namespace, address=address, gateway=gateway)
        try:
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside, "netns", namespace)
            _ip("addr", "add", f"{gateway}/24", "dev", outside)
            _ip("link", "set", outside, "up")
            _ip("-n", namespace, "link", "set", "lo", "up")
            _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", inside)
            _ip("-n", namespace, "link", "set", inside, "up")
        except HostsUnavailable:
            host.destroy()
            raise
        return host

    def command(self, *args: str) -> list[str]:
        """A command line that runs args inside this host."""
        return ["ip", "netns", "exec", self.namespace, *args]

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout, check=False)

    def spawn(self, args: list[str], *, env: dict[str, str], log_path: Path) -> subprocess.Popen:
        """Start a long-running process inside this host, in its own process group, logging to log_path."""
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                self.command(*args),
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def destroy(self) -> None:
        """Kill what was started inside, then delete the namespace (its veth pair goes with it)."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, check=False, timeout=30)


class Relay:
    """One listening socket on the machine that relays each connection to a target service."""

    def __init__(self, relays: "Relays", *, listen_host: str, target: tuple[str, int] | str) -> None:
        self._relays = relays
        self.listen_host = listen_host
        self.target = target
        self.port = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._connection, self.listen_host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _connection(self, client_reader, client_writer) -> None:
        try:
            if isinstance(self.target, str):
                server_reader, server_writer = await asyncio.open_unix_connection(self.target)
            else:
                server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def pause(self) -> None:
        """Stop relaying bytes, both ways, on every connection (new ones are accepted and held)."""
        self._relays.call(self._flowing.clear)

    def resume(self) -> None:
        self._relays.call(self._flowing.set)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()


class Relays:
    """The relays of one test, served by one event loop on a background thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="relays", daemon=True)
        self._thread.start()
        self._relays: list[Relay] = []

    def call(self, function) -> None:
        async def run() -> None:
            function()

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    def add(self, *, listen_host: str, target: tuple[str, int] | str) -> Relay:
        relay = Relay(self, listen_host=listen_host, target=target)
        asyncio.run_coroutine_threadsafe(relay._start(), self._loop).result(timeout=10)
        self._relays.append(relay)
        return relay

    async def _shutdown(self) -> None:
        for relay in self._relays:
            relay._flowing.set()
            await relay._close()
        connections = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)

    def close(self) -> None:
        """Close every relay and connection, then the loop."""
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def answers_healthz(base_url: str, *, timeout: float) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for_log(process: subprocess.Popen, log_path: Path, text: str, *, timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
        if process.poll() is not None:
            raise RuntimeError(f"{log_path.name}: the process exited with {process.returncode}:\n{log[-4000:]}")
        if text in log:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{log_path.name}: no {text!r} within {timeout_seconds:.0f} s:\n{log[-4000:]}")


def python_command(*args: str) -> list[str]:
    return [sys.executable, *args]
