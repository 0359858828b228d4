"""Synthetic demo data the gateway ships instead of real patient data (``gateway demo``)."""

from __future__ import annotations

from gateway.demo.synthetic import DemoFiles, kvnr_check_digit, write_demo

__all__ = ["DemoFiles", "kvnr_check_digit", "write_demo"]
