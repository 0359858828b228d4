"""The federation's one fixed layout: each member state's gateway and its HTTPS port.

``make federation`` serves these gateways on 127.0.0.1 (``gateway serve --tls``);
``docker/compose.yaml`` publishes its nginx fronts on the same ports (``tests/docker`` holds it
to this table).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

PORTS: Mapping[str, int] = MappingProxyType({"DE": 8441, "FR": 8442, "IT": 8443})
HOST = "127.0.0.1"


def base_url(port: int, host: str = HOST) -> str:
    return f"https://{host}:{port}"
