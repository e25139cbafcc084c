"""The date formats the providers write in their records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

GMT8 = timezone(timedelta(hours=8))


def utc_millis_z(ts: float) -> str:
    """2023-07-21T08:09:28.267Z (Naga)"""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def gmt8_millis_compact(ts: float) -> str:
    """2022-07-01T11:48:13.430+0800 (HRG)"""
    moment = datetime.fromtimestamp(ts, GMT8)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0800"


def gmt8_seconds(ts: float) -> str:
    """2026-06-15T23:11:00+08:00 (VCT)"""
    return datetime.fromtimestamp(int(ts), GMT8).isoformat()
