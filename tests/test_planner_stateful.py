"""Property tests of the sync planner against a simulated server and devices.

The server keeps every version of every path (an append-only history with per-path
compare-and-swap on the head version). Each device has a local tree and a base. Devices edit,
sync (plan + execute at once) or plan now and execute later, against a server that may have
moved meanwhile (a stale plan: compare-and-swap and expected-content checks make some actions
fail, as they would for a real executor).

Invariants: (1) nothing that existed before a sync (in any tree or in the server history) is
gone after it; (2) from any state, two rounds of syncs of every device with no edits make every
tree equal to the remote heads. Also: a fresh plan always executes completely, local trees
never hold a file and a folder of the same name.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from vault_core.planner import (
    Action,
    Adopt,
    ConflictCopy,
    DeleteLocal,
    DeleteRemote,
    Download,
    Plan,
    PlanInput,
    RemoteConflictCopy,
    RemoteFile,
    Upload,
    apply_base,
    plan,
)

TODAY = "2024-05-17"
PATHS = ["a", "a/b", "a/b/c", "a/d.txt", "e.pdf"]
SHARED_CONTENTS = ["X", "Y"]  # equal edits on two devices happen too


def ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def is_tree(files: Mapping[str, object]) -> bool:
    return not any(a in files for p in files for a in ancestors(p))


def can_write(files: Mapping[str, object], path: str) -> bool:
    """A file can be created at `path`: no file above it, no folder of that name."""
    if any(a in files for a in ancestors(path)):
        return False
    return not any(p.startswith(path + "/") for p in files)


# --------------------------------------------------------------------------- simulation


@dataclass
class Server:
    history: dict[str, list[RemoteFile]] = field(default_factory=dict)
    archive: set[str] = field(default_factory=set)  # older contents, paths not modelled
    next_id: int = 0

    def heads(self) -> dict[str, RemoteFile]:
        return {p: versions[-1] for p, versions in self.history.items()}

    def live(self) -> dict[str, str]:
        return {p: h.content for p, h in self.heads().items() if h.content is not None}

    def contents(self) -> set[str]:
        found = {v.content for vs in self.history.values() for v in vs if v.content is not None}
        return found | self.archive

    def head(self, path: str) -> RemoteFile | None:
        versions = self.history.get(path)
        return versions[-1] if versions else None

    def cas_ok(self, path: str, file_id: str | None, parent_version: int) -> bool:
        head = self.head(path)
        if file_id is None:
            return head is None and parent_version == 0
        return head is not None and (head.file_id, head.version) == (file_id, parent_version)

    def append(self, path: str, file_id: str | None, parent: int, content: str | None) -> None:
        assert self.cas_ok(path, file_id, parent)
        if file_id is None:
            self.next_id += 1
            file_id = f"f{self.next_id}"
        self.history.setdefault(path, []).append(RemoteFile(file_id, parent + 1, content))


@dataclass
class Device:
    name: str
    local: dict[str, str] = field(default_factory=dict)
    base: dict[str, str] = field(default_factory=dict)
    pending: Plan | None = None


def make_plan(device: Device, server: Server) -> Plan:
    return plan(
        PlanInput(dict(device.base), dict(device.local), server.heads(), device.name, TODAY)
    )


def do_action(device: Device, server: Server, action: Action) -> bool:
    """Execute one action like a careful executor; False (and no effect) if it cannot."""
    local = device.local
    match action:
        case Adopt():
            return True
        case Upload(path=path, content=content, file_id=file_id, parent_version=parent):
            if local.get(path) != content or not server.cas_ok(path, file_id, parent):
                return False
            server.append(path, file_id, parent, content)
            return True
        case Download(path=path, remote=remote, replaces=replaces):
            assert remote.content is not None
            if local.get(path) != replaces or (replaces is None and not can_write(local, path)):
                return False
            local[path] = remote.content
            return True
        case DeleteLocal(path=path, expected_content=expected):
            if local.get(path) != expected:
                return False
            del local[path]
            return True
        case DeleteRemote(path=path, file_id=file_id, parent_version=parent):
            head = server.head(path)
            if head is None or head.content is None or not server.cas_ok(path, file_id, parent):
                return False
            server.append(path, file_id, parent, None)
            return True
        case ConflictCopy(path=path, copy_path=copy_path, content=content, remote=remote):
            if local.get(path) != content or not server.cas_ok(copy_path, None, 0):
                return False
            rest = {p: c for p, c in local.items() if p != path}
            if copy_path in rest or not can_write(rest, copy_path):
                return False
            server.append(copy_path, None, 0, content)  # uploaded first: then moved
            del local[path]
            local[copy_path] = content
            if remote is not None:
                assert remote.content is not None
                local[path] = remote.content
            return True
        case RemoteConflictCopy(path=path, copy_path=copy_path, remote=remote):
            assert remote.content is not None
            if server.head(path) != remote or not server.cas_ok(copy_path, None, 0):
                return False
            if copy_path in local or not can_write(local, copy_path):
                return False
            server.append(copy_path, None, 0, remote.content)
            server.append(path, remote.file_id, remote.version, None)
            local[copy_path] = remote.content
            return True
    raise AssertionError(action)  # pragma: no cover


def phase(action: Action) -> int:
    """Local removals and moves first, then everything else (stable: keeps path order)."""
    return 0 if isinstance(action, DeleteLocal | ConflictCopy) else 1


def execute(device: Device, server: Server, the_plan: Plan, *, fresh: bool) -> None:
    done = [a for a in sorted(the_plan.actions, key=phase) if do_action(device, server, a)]
    device.base = apply_base(device.base, done)
    assert is_tree(device.local), device.local
    if fresh:
        # Nothing moved since the plan was made: everything must go through, and the device
        # then agrees with the server and records it.
        assert done == sorted(the_plan.actions, key=phase)
        assert device.local == server.live()
        assert device.base == device.local


def contents(devices: list[Device], server: Server) -> set[str]:
    found = server.contents()
    for device in devices:
        found.update(device.local.values())
    return found


def converge(devices: list[Device], server: Server) -> None:
    for _ in range(2):
        for device in devices:
            device.pending = None  # a stale plan may be forgotten (crash, restart)
            execute(device, server, make_plan(device, server), fresh=True)


# --------------------------------------------------------------------------- state machine


DEVICE = st.integers(0, 2)


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.server = Server()
        self.devices: list[Device] = []
        self.tracked: set[str] = set()
        self.fresh = 0

    @initialize(count=st.integers(2, 3))
    def make_devices(self, count: int) -> None:
        self.devices = [Device(f"D{i}") for i in range(count)]

    def _device(self, ix: int) -> Device:
        return self.devices[ix % len(self.devices)]

    def _content(self, shared: str | None) -> str:
        if shared is not None:
            return shared
        self.fresh += 1
        return f"c{self.fresh}"

    def _user_changed(self) -> None:
        # A user may overwrite or delete what they wrote: that is not the planner's loss.
        self.tracked = contents(self.devices, self.server)

    @rule(
        ix=DEVICE,
        data=st.data(),
        shared=st.one_of(st.none(), st.sampled_from(SHARED_CONTENTS)),
    )
    def write(self, ix: int, data: st.DataObject, shared: str | None) -> None:
        device = self._device(ix)
        path = data.draw(st.sampled_from(sorted(set(PATHS) | set(device.local))), label="path")
        if path in device.local or can_write(device.local, path):
            device.local[path] = self._content(shared)
        self._user_changed()

    @precondition(lambda self: any(d.local for d in self.devices))
    @rule(ix=DEVICE, data=st.data())
    def remove(self, ix: int, data: st.DataObject) -> None:
        device = self._device(ix)
        if device.local:
            del device.local[data.draw(st.sampled_from(sorted(device.local)), label="path")]
        self._user_changed()

    @rule(ix=DEVICE)
    def sync(self, ix: int) -> None:
        device = self._device(ix)
        device.pending = None
        execute(device, self.server, make_plan(device, self.server), fresh=True)
        self.tracked |= contents(self.devices, self.server)

    @rule(ix=DEVICE)
    def plan_now(self, ix: int) -> None:
        device = self._device(ix)
        device.pending = make_plan(device, self.server)

    @precondition(lambda self: any(d.pending is not None for d in self.devices))
    @rule(ix=DEVICE)
    def execute_later(self, ix: int) -> None:
        device = self._device(ix)
        if device.pending is not None:
            the_plan, device.pending = device.pending, None
            execute(device, self.server, the_plan, fresh=False)
        self.tracked |= contents(self.devices, self.server)

    @invariant()
    def nothing_lost(self) -> None:
        missing = self.tracked - contents(self.devices, self.server)
        assert not missing, missing

    @invariant()
    def base_is_in_history(self) -> None:
        # What DeleteLocal relies on: a base value can always be fetched again.
        history = self.server.contents()
        for device in self.devices:
            assert set(device.base.values()) <= history

    @invariant()
    def trees_are_trees(self) -> None:
        for device in self.devices:
            assert is_tree(device.local)

    @invariant()
    def converges(self) -> None:
        devices, server = copy.deepcopy((self.devices, self.server))
        before = contents(devices, server)
        converge(devices, server)
        assert before <= contents(devices, server)
        live = server.live()
        assert is_tree(live)
        for device in devices:
            assert device.local == live
            assert device.base == live


SyncMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestSyncMachine = SyncMachine.TestCase


# --------------------------------------------------------------------------- single plans


contents_st = st.sampled_from(["X", "Y", "Z"])
ALL_PATHS = [*PATHS, "e (conflict, D0, 2024-05-17).pdf", "a (conflict, D0, 2024-05-17)/f"]
tree_st = st.dictionaries(st.sampled_from(ALL_PATHS), contents_st)


@st.composite
def plan_inputs(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str], dict[str, RemoteFile]]:
    base = draw(tree_st)
    local = draw(tree_st.filter(is_tree))
    remote_contents = draw(
        st.dictionaries(st.sampled_from(ALL_PATHS), st.one_of(st.none(), contents_st))
    )
    remote = {
        p: RemoteFile(f"id-{p}", draw(st.integers(1, 3)), c) for p, c in remote_contents.items()
    }
    return base, local, remote


@settings(max_examples=400, deadline=None)
@given(plan_inputs())
def test_any_plan_executes_to_agreement_without_loss(
    inputs: tuple[dict[str, str], dict[str, str], dict[str, RemoteFile]],
) -> None:
    base, local, remote = inputs
    # The history also holds what base says was agreed on.
    server = Server(history={p: [h] for p, h in remote.items()}, archive=set(base.values()))
    device = Device("D0", local=dict(local), base=dict(base))
    before = contents([device], server)

    the_plan = plan(PlanInput(base, local, remote, "D0", TODAY))
    again = plan(PlanInput(dict(reversed(base.items())), local, remote, "D0", TODAY))
    assert the_plan == again  # deterministic, whatever the mapping order
    paths = [a.path for a in the_plan.actions]
    assert paths == sorted(paths)

    execute(device, server, the_plan, fresh=True)
    assert before <= contents([device], server)
    # Every local content is still on disk or on the server.
    assert set(local.values()) <= set(device.local.values()) | server.contents()
    # Nothing is dropped into history only: a side's content leaves the tree only when it is
    # superseded (equal to base while the other side changed), clashes and conflicts included.
    visible = set(device.local.values())
    for p in set(base) | set(local) | set(remote):
        b, loc = base.get(p), local.get(p)
        rem = remote[p].content if p in remote else None
        if loc is not None and not (loc == b and rem != b):
            assert loc in visible, (p, loc)
        if rem is not None and not (rem == b and loc != b):
            assert rem in visible, (p, rem)
    # Re-planning after a complete sync has nothing left to do.
    assert make_plan(device, server).actions == ()
