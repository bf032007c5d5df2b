"""The owner's settings: reminders (how early, how often, or never), the app's language and
auto-lock, and the authorities trusted here. Kept in the profile's config (nothing secret)."""

from __future__ import annotations

from dataclasses import dataclass

from vault_core.errors import UsageError

from . import requests, trust
from .context import Context

DAY = 86400
LANGUAGES = ("fr", "en")
DEFAULT_AUTOLOCK = 15  # minutes


@dataclass(frozen=True)
class Reminders:
    enabled: bool
    before_days: float
    every_days: float


@dataclass(frozen=True)
class Settings:
    reminders: Reminders
    language: str
    autolock_minutes: int
    trusted: list[trust.Authority]


def _app(ctx: Context) -> dict[str, object]:
    cfg = ctx.profile.config.get("app")
    return cfg if isinstance(cfg, dict) else {}


def language(ctx: Context) -> str:
    value = _app(ctx).get("language")
    return value if isinstance(value, str) and value in LANGUAGES else "fr"


def autolock_minutes(ctx: Context) -> int:
    value = _app(ctx).get("autolock_minutes")
    return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_AUTOLOCK


def get(ctx: Context) -> Settings:
    profile = ctx.profile
    rem = requests.reminder_settings(profile)
    return Settings(
        Reminders(rem.enabled, rem.before / DAY, rem.every / DAY),
        language(ctx),
        autolock_minutes(ctx),
        trust.list_authorities(ctx),
    )


def update(
    ctx: Context,
    reminders_enabled: bool | None = None,
    before_days: float | None = None,
    every_days: float | None = None,
    language: str | None = None,
    autolock: int | None = None,
) -> Settings:
    """Change any of the settings; the settings now in force."""
    for value in (before_days, every_days):
        if value is not None and not 0 < value <= 365:
            raise UsageError("reminder intervals are between a fraction of a day and a year")
    if language is not None and language not in LANGUAGES:
        raise UsageError(f"language: one of {', '.join(LANGUAGES)}")
    if autolock is not None and not 1 <= autolock <= 24 * 60:
        raise UsageError("auto-lock: between 1 minute and 24 hours")
    if reminders_enabled is not None or before_days is not None or every_days is not None:
        requests.set_reminders(
            ctx,
            enabled=reminders_enabled,
            before=int(before_days * DAY) if before_days is not None else None,
            every=int(every_days * DAY) if every_days is not None else None,
        )
    if language is not None or autolock is not None:
        app = dict(_app(ctx))
        if language is not None:
            app["language"] = language
        if autolock is not None:
            app["autolock_minutes"] = autolock
        ctx.profile.config["app"] = app
        ctx.profile.save_config()
    return get(ctx)
