"""Joining (or starting) the Ray cluster an update runs on.

`local` starts a single-node cluster on this machine, and a `HOST:PORT` on a loopback
address joins one started here. Both keep Ray on the loopback interface: Ray otherwise
replaces 127.0.0.1 by the machine's network address (found by asking the routing table
for a public DNS server), and its processes would listen and connect there. Ray's
usage-stats reporting is switched off for the session (RAY_USAGE_STATS_ENABLED=0) and
no dashboard is started, so nothing reaches the network. Both are environment
variables Ray reads when it is imported, hence they are set before the first import.
A local cluster is protected by a token made for the run and never written to disk.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from qa.errors import QaError

LOCAL = "local"
AUTO = "auto"
CONNECT_TIMEOUT_S = 10.0
# Ray's switch for "this machine only": Ray clusters on Windows and macOS default to it.
SINGLE_MACHINE_VAR = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
AUTH_MODE_VAR = "RAY_AUTH_MODE"


@dataclass(frozen=True)
class Cluster:
    """What the driver joined: where, how many nodes, and their CPUs and GPUs."""

    address: str
    started_here: bool
    nodes: int
    cpus: int
    gpus: int
    node_addresses: dict[str, str]  # node id -> its IP address
    node_cpus: tuple[int, ...]  # each node's CPUs, for sizing the embedding actors

    def describe(self) -> str:
        how = "started a local cluster" if self.started_here else f"joined {self.address}"
        return (f"ray: {how}: {self.nodes} node{'s' * (self.nodes != 1)},"
                f" {self.cpus} CPUs, {self.gpus} GPUs")


@contextmanager
def connected(address: str, loopback: bool) -> Iterator[Cluster]:
    """Connect this process to the cluster at `address` (`auto`, `local` or HOST:PORT,
    on this machine's loopback interface if `loopback`) as its driver, and disconnect
    at the end (stopping a cluster started here)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Ray's C++ side logs notices (e.g. on actor arguments kept for restarts) straight
    # to stderr; qa's stderr is for qa's lines. Failures still arrive as exceptions.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    # Ray Data reconfigures its loggers (console at INFO) each time a Dataset starts, so
    # a level set on them here would not last; this variable is what it reads then.
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "ERROR")
    if loopback:
        os.environ.setdefault(SINGLE_MACHINE_VAR, "0")
    if address == LOCAL and AUTH_MODE_VAR not in os.environ:
        # Token authentication, as Ray now does by default for a local cluster, but
        # with a token for this run only, kept in the environment the cluster inherits:
        # Ray would otherwise write one to ~/.ray/auth_token.
        os.environ[AUTH_MODE_VAR] = "token"
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    import ray

    kwargs = {"include_dashboard": False, "_node_ip_address": "127.0.0.1"} if address == LOCAL \
        else {}
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR,
                 **kwargs)
    except ConnectionError as exc:
        raise QaError(f"--ray {address}: no Ray cluster to join ({exc})") from None
    try:
        alive = [n for n in ray.nodes() if n.get("Alive")]
        resources = ray.cluster_resources()
        yield Cluster(address, address == LOCAL, len(alive), int(resources.get("CPU", 0)),
                      int(resources.get("GPU", 0)),
                      {n["NodeID"]: n["NodeManagerAddress"] for n in alive},
                      tuple(int(n.get("Resources", {}).get("CPU", 0)) for n in alive))
    finally:
        # A run qa ends early (a stall, an error) leaves Ray Data's thread waiting on
        # actors that the shutdown kills; Ray Data then logs that as an ERROR with a
        # traceback. qa has said what happened in its own line: Ray Data is quiet now.
        for name in ("ray.data", "ray.data.exceptions"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        ray.shutdown()


def check_address(address: str) -> bool:
    """A clear error for an address Ray cannot use, before anything is written and
    before Ray would retry it for minutes; True when the cluster is (to be) on this
    machine's loopback interface."""
    if address == LOCAL:
        return True
    if address == AUTO:
        return False
    if "://" in address:
        raise QaError(f"--ray {address}: Ray Client addresses are not supported; run qa on"
                      " a node of the cluster with `--ray auto` or the head's HOST:PORT")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise QaError(f"--ray {address}: expected auto, local or HOST:PORT (the head node's"
                      " GCS address, e.g. 10.0.0.5:6379)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise QaError(f"--ray {address}: cannot reach a Ray head there"
                      f" ({exc.strerror or exc})") from None
    return _is_loopback(host.strip("[]"))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
