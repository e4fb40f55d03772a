"""Months: the model counts months from 0; outputs name them as YYYY-MM."""

from __future__ import annotations


def month_label(start: str, offset: int) -> str:
    y, m = int(start[:4]), int(start[5:])
    total = y * 12 + (m - 1) + offset
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def month_offset(start: str, label: str) -> int:
    return (int(label[:4]) * 12 + int(label[5:]) - 1) - (int(start[:4]) * 12 + int(start[5:]) - 1)
