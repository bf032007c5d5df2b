"""The client's one typed service API, which every face calls (the ``vault`` CLI, the desktop
app's daemon, and through the same names the web engine).

Layers (who may import whom, top to bottom; never upwards)::

    faces      vault_client/cli.py (and the app's HTTP handlers)
    service    vault_client/service/*: one module per domain, each call
               ``f(ctx: Context, plain arguments) -> dataclass``; raises VaultError
               subclasses; never prints, prompts or exits; reports through ctx.bus
    mechanics  vault_client/sync/ (the engine), session, identity, certificates, api,
               profile, state, folder
    core       vault_core (pure, sans-I/O) and protocol

Domains: :mod:`.account` (account and devices), :mod:`.documents` (history, restore),
:mod:`.syncing` (sync, watch, status), :mod:`.shares`, :mod:`.redeem`, :mod:`.inbox` (deposits,
verification), :mod:`.requests` (requests, reminders), :mod:`.trust`, :mod:`.issuer`
(authorities and issuers), :mod:`.mandates` (helper mandates: given and received, what helpers
did, forwards), :mod:`.act_for` (a helper acting for an owner). :mod:`.events` holds the bus,
the progress observer and explicit cancellation; :mod:`.results` turns any result into JSON.

The domain modules are imported by their callers, not here: a command loads only what it uses
(a no-change ``vault sync`` starts in a few tens of milliseconds).
"""

from __future__ import annotations

from .context import Context
from .events import Cancellation, Event, EventBus

__all__ = ["Cancellation", "Context", "Event", "EventBus"]
