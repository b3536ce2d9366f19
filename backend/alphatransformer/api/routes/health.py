"""Liveness, open even when everything else needs a token, for process supervisors."""

from __future__ import annotations

from fastapi import APIRouter

from alphatransformer.api.schemas import Health

router = APIRouter()


@router.get("/healthz", response_model=Health, tags=["status"])
async def healthz() -> Health:
    """Liveness: the process serves requests."""
    return Health(status="ok")
