"""Backlog, milestones, blockers and the progress document pages."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["pages"])
