"""The service context: one profile, its credentials, its event bus, its server session.

Every service call takes a :class:`Context` first. The context never prompts: when a call
needs the profile's secrets and the profile is locked, it asks its ``passphrase`` source (the
CLI's reads ``$VAULT_PASSPHRASE`` or a terminal prompt; the app's daemon has none and unlocks
explicitly with :meth:`Context.unlock`), and without one raises
:class:`~vault_core.errors.Locked`.

A call that talks to the server uses :meth:`Context.api`: inside ``async with ctx:`` (the
daemon) one authenticated session is shared by every call; otherwise each call opens and
closes its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_core.errors import Locked

from ..profile import Profile, Secrets
from .events import WARNING, EventBus

if TYPE_CHECKING:
    from ..api import Api
    from ..sync import SyncEngine

PassphraseSource = Callable[[], str]


class Context:
    def __init__(
        self,
        home: Path,
        passphrase: PassphraseSource | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.home = home
        self.bus = bus or EventBus()
        self._passphrase = passphrase
        self._profile: Profile | None = None
        self._api: Api | None = None

    # -- the profile -------------------------------------------------------------------------

    @property
    def profile(self) -> Profile:
        if self._profile is None:
            self._profile = Profile(self.home)
        return self._profile

    def reload(self) -> Profile:
        """A fresh read of the profile from disk (after another process changed it)."""
        self._profile = None
        return self.profile

    def unlock(self, passphrase: str | None = None) -> Secrets:
        """The decrypted secrets; from ``passphrase``, else the context's source."""
        profile = self.profile
        if profile.unlocked:
            return profile.secrets
        if passphrase is None:
            if self._passphrase is None:
                raise Locked(f"the profile {self.home} is locked: unlock it with its passphrase")
            passphrase = self._passphrase()
        return profile.unlock(passphrase)

    def account(self) -> Profile:
        """The profile, which must hold an account, unlocked."""
        self.profile.require_account()
        self.unlock()
        return self.profile

    def warn(self, message: str) -> None:
        self.bus.emit(WARNING, message)

    def check_permissions(self) -> list[str]:
        """Warn (on the bus) when the profile is readable or writable by others; the paths."""
        from ..hardening import permission_problems

        problems = permission_problems(self.home) if self.home.exists() else []
        if problems:
            self.warn(
                f"warning: {len(problems)} path(s) of the profile {self.home} are open to other "
                f"users (e.g. {problems[0]}): run 'chmod -R go-rwx {self.home}'"
            )
        return problems

    # -- the server --------------------------------------------------------------------------

    async def __aenter__(self) -> Context:
        from ..session import open_api  # (aiohttp: loaded by the calls that talk to a server)

        self._api = await open_api(self.account())
        await self._api.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        api, self._api = self._api, None
        if api is not None:
            await api.__aexit__(*exc)

    @contextlib.asynccontextmanager
    async def api(self) -> AsyncIterator[Api]:
        """The authenticated API of this profile's account."""
        if self._api is not None:
            yield self._api
            return
        from ..session import open_api

        api = await open_api(self.account())
        async with api:
            yield api

    @contextlib.contextmanager
    def engine(self, api: Api, **kwargs: Any) -> Iterator[SyncEngine]:
        """A sync engine for one call (closed at the end: its threads, its state database)."""
        from ..sync import SyncEngine  # (loaded by the calls that sync, not by every command)

        kwargs.setdefault("warn", self.warn)
        engine = SyncEngine(self.profile, api, **kwargs)
        try:
            yield engine
        finally:
            engine.close()
