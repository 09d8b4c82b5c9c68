"""`ServeConfig`: the settings of a `dermnet serve` server, checked without importing TensorFlow."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from pathlib import Path
from typing import Any

from dermnet._core.validation import check_float, check_int, fail

__all__ = ["ServeConfig", "check_host"]

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+$")


def check_host(host: Any, where: str = "ServeConfig") -> str:
    """Check a bind address: an IPv4/IPv6 address or a host name such as ``localhost``.

    Raises:
        ParameterError: ``host`` is not a string naming an address.
    """
    if not isinstance(host, str) or not host.strip():
        raise fail("host", where, "an IP address or host name such as 127.0.0.1", host)
    host = host.strip()
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if not _HOSTNAME.match(host) or host.replace(".", "").isdigit():
        raise fail("host", where, "an IP address or host name such as 127.0.0.1", host)
    return host


@dataclasses.dataclass(frozen=True)
class ServeConfig:
    """How a `dermnet serve` server listens, batches and limits its work.

    Every field is checked by `validate` (no TensorFlow import), so a bad command line
    fails at once, before the model loads.

    Attributes:
        host: the address to bind; ``127.0.0.1`` (this machine only) by default.
        port: the TCP port, 1 to 65535 (0: a free port chosen by the system).
        model_file: the model in the run folder (``model.keras`` or ``last.keras``).
        max_batch: most images scored in one forward pass, gathered across clients.
        batch_wait_ms: how long the first waiting image waits for others to join its batch
            (only while another prediction's upload is on its way: a lone request is
            scored at once).
        queue_size: most requests waiting for the model; one more is answered 503.
        max_body_bytes: largest request body; a larger one is answered 413 unread.
        max_files: most images in one request.
        max_pixels: largest image (width x height, read from its header before any
            decoding); a larger one is answered 413.
        timeout_s: longest a request waits for the model; then 504.
        save_dir: where to keep each upload and its result; ``None`` (default): nothing
            is stored.

    Examples:
        >>> ServeConfig(port=8080).validate().port
        8080
        >>> ServeConfig(port=70000).validate()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        dermnet._core.errors.ParameterError: The 'port' parameter of ServeConfig must be ...
    """

    host: str = "127.0.0.1"
    port: int = 8000
    model_file: str = "model.keras"
    max_batch: int = 32
    batch_wait_ms: float = 10.0
    queue_size: int = 64
    max_body_bytes: int = 32 * 1024 * 1024
    max_files: int = 16
    max_pixels: int = 50_000_000
    timeout_s: float = 60.0
    save_dir: str | os.PathLike[str] | None = None

    def validate(self) -> ServeConfig:
        """Check every field; return the config with normalised values.

        Raises:
            ParameterError: a field is out of range or of the wrong type.
        """
        where = "ServeConfig"
        if not isinstance(self.model_file, str) or not self.model_file.endswith(".keras"):
            raise fail("model_file", where, "the name of a .keras file in the run", self.model_file)
        if self.save_dir is not None and not isinstance(self.save_dir, (str, os.PathLike)):
            raise fail("save_dir", where, "a folder path or None", self.save_dir)
        return dataclasses.replace(
            self,
            host=check_host(self.host, where),
            port=check_int(self.port, "port", where, low=0, high=65535),
            max_batch=check_int(self.max_batch, "max_batch", where, low=1, high=1024),
            batch_wait_ms=check_float(
                self.batch_wait_ms, "batch_wait_ms", where, low=0.0, high=60_000.0
            ),
            queue_size=check_int(self.queue_size, "queue_size", where, low=1),
            max_body_bytes=check_int(self.max_body_bytes, "max_body_bytes", where, low=1024),
            max_files=check_int(self.max_files, "max_files", where, low=1),
            max_pixels=check_int(self.max_pixels, "max_pixels", where, low=1),
            timeout_s=check_float(self.timeout_s, "timeout_s", where, low=0.0, low_open=True),
            save_dir=None if self.save_dir is None else Path(self.save_dir).expanduser(),
        )

    @property
    def local_only(self) -> bool:
        """Whether the server binds to this machine only (a loopback address)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
