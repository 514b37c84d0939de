"""Shared pieces of the Vercel tests: the emulator fixture and a compute instance bound to it."""

from __future__ import annotations

from typing import Any

from emulator_vercel import VercelEmulator

from computesdk_core import compute
from computesdk_core.testing.emulator import LocalBackend

TOKEN = "vercel_test_token_0123456789abcdef"
TEAM = "team_emulated0123"
PROJECT = "prj_emulated0123"


def start_emulator() -> tuple[VercelEmulator, LocalBackend]:
    """A running emulator with a backend of real local sandboxes (bubblewrap)."""
    backend = LocalBackend()
    emulator = VercelEmulator(TOKEN, TEAM, PROJECT, backend)
    emulator.start()
    return emulator, backend


def stop_emulator(emulator: VercelEmulator, backend: LocalBackend) -> None:
    """Stop serving and destroy every sandbox left."""
    emulator.stop()
    backend.close()


def vercel_config(emulator: VercelEmulator, **extra: Any) -> dict[str, Any]:
    """The provider options pointing at ``emulator``."""
    return {"token": TOKEN, "team_id": TEAM, "project_id": PROJECT, "api_url": emulator.url, **extra}


def compute_for(emulator: VercelEmulator, **extra: Any) -> Any:
    """A compute instance whose provider is vercel, talking to ``emulator``."""
    return compute(provider="vercel", vercel=vercel_config(emulator, **extra))

