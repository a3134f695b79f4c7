"""`agentregistry_build_info`: which version and Python serve, as stock dashboards expect."""

from __future__ import annotations

import platform
from collections.abc import Iterator
from importlib import metadata

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


def software_version() -> str:
    """The installed package version ("unknown" from a checkout without installing)."""
    try:
        return metadata.version("agent-registry")
    except metadata.PackageNotFoundError:
        return "unknown"


class BuildInfo(Collector):
    """Always 1; the labels carry the information."""

    def __init__(self) -> None:
        self._labels = {"version": software_version(), "python": platform.python_version()}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "agentregistry_build_info",
            "Version of the registry and of Python serving it (always 1).",
            labels=list(self._labels),
        )
        family.add_metric(list(self._labels.values()), 1)
        yield family
