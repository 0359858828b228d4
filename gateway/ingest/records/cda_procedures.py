"""Procedures (``procedure`` entries) and medical devices (``supply`` entries whose
``participant[@typeCode='DEV']`` plays the device).

A procedure's ``effectiveTime`` is a TS (when it was done) or an IVL_TS (a course of
radiotherapy or physiotherapy: its start and end).
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.domain.records import DeviceUse, DeviceUseStatus, Procedure
from gateway.ingest.records.cda_values import absent, concept, interval, mapped, null_flavor
from gateway.ingest.records.cda_xml import (
    Context,
    Element,
    child,
    first,
    local_name,
    path,
    rejecting,
)

__all__ = ["devices", "procedures"]

_DEVICE = path("h:participant[@typeCode='DEV']/h:participantRole/h:playingDevice")


def procedures(ctx: Context, statements: Sequence[Element], target: str) -> list[Procedure]:
    return list(filter(None, (_procedure(ctx, s, target) for s in statements)))


def _procedure(ctx: Context, statement: Element, target: str) -> Procedure | None:
    if local_name(statement) != "procedure":
        ctx.warn(statement, f"entry <{local_name(statement)}> is not a procedure: not read")
        return None
    coded = child(statement, "code")
    start, end = interval(ctx, child(statement, "effectiveTime"))
    code = concept(ctx, coded)
    if code is None and start is None and end is None:
        code = absent(ctx, target, null_flavor(coded, statement), statement)
    if code is None:
        ctx.warn(statement, "a procedure without a coded or described code: not read")
        return None
    statuses = ctx.mapping.statuses.procedure
    status = mapped(ctx, child(statement, "statusCode"), statuses, "procedure status")
    body_site = concept(ctx, child(statement, "targetSiteCode"))
    return rejecting(
        statement, lambda: Procedure(code, start, status or "unknown", body_site, end=end)
    )


def devices(ctx: Context, statements: Sequence[Element], target: str) -> list[DeviceUse]:
    return list(filter(None, (_device(ctx, s, target) for s in statements)))


def _device(ctx: Context, statement: Element, target: str) -> DeviceUse | None:
    if local_name(statement) != "supply":
        ctx.warn(statement, f"entry <{local_name(statement)}> is not a device use: not read")
        return None
    device = first(_DEVICE, statement)
    coded = child(device, "code") if device is not None else None
    start, end = interval(ctx, child(statement, "effectiveTime"))
    code = concept(ctx, coded)
    if code is None and start is None and end is None:
        code = absent(ctx, target, null_flavor(coded, device, statement), statement)
    if code is None:
        ctx.warn(statement, "a device use without a coded or described device: not read")
        return None
    # eHDSI device entries carry no status: a use that has ended is completed.
    status: DeviceUseStatus = "completed" if end is not None else "active"
    return rejecting(statement, lambda: DeviceUse(code, status, start, end))
