"""Unit tests of the pure sync planner (vault_core.planner), one rule at a time."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from vault_core.errors import FormatError
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
    conflict_name,
    plan,
)

DAY = "2024-05-17"


def rf(path: str, content: str | None, version: int = 1) -> RemoteFile:
    return RemoteFile(f"id-{path}", version, content)


def run(
    base: Mapping[str, str] | None = None,
    local: Mapping[str, str] | None = None,
    remote: Mapping[str, RemoteFile] | None = None,
    *,
    delete_guard_ratio: float = 0.5,
    delete_guard_min: int = 5,
) -> Plan:
    inp = PlanInput(
        base or {}, local or {}, remote or {}, "laptop", DAY, delete_guard_ratio, delete_guard_min
    )
    return plan(inp)


def actions(
    base: Mapping[str, str] | None = None,
    local: Mapping[str, str] | None = None,
    remote: Mapping[str, RemoteFile] | None = None,
) -> tuple[Action, ...]:
    return run(base, local, remote).actions


def cname(path: str, n: int = 1) -> str:
    return conflict_name(path, "laptop", DAY, n)


# --------------------------------------------------------------------------- three-way rules


def test_nothing_to_do() -> None:
    r = rf("a", "X")
    assert actions({"a": "X"}, {"a": "X"}, {"a": r}) == ()
    assert run().actions == ()


def test_equal_on_both_sides_is_adopted() -> None:
    a = rf("a", "Y", 2)
    assert actions({"a": "X"}, {"a": "Y"}, {"a": a}) == (Adopt("a", "Y"),)
    assert actions({}, {"a": "Y"}, {"a": a}) == (Adopt("a", "Y"),)


def test_deleted_on_both_sides_forgets_the_base_entry() -> None:
    assert actions({"a": "X"}, {}, {"a": rf("a", None, 2)}) == (Adopt("a", None),)
    assert actions({"a": "X"}, {}, {}) == (Adopt("a", None),)
    assert actions({}, {}, {"a": rf("a", None, 2)}) == ()  # old tombstone, never seen


def test_remote_edit_is_downloaded() -> None:
    head = rf("a", "Y", 2)
    assert actions({"a": "X"}, {"a": "X"}, {"a": head}) == (Download("a", head, replaces="X"),)


def test_remote_new_file_is_downloaded() -> None:
    head = rf("d/a", "Y")
    assert actions({}, {}, {"d/a": head}) == (Download("d/a", head, replaces=None),)


def test_remote_delete_deletes_local_copy_equal_to_base() -> None:
    tomb = rf("a", None, 2)
    assert actions({"a": "X"}, {"a": "X"}, {"a": tomb}) == (DeleteLocal("a", "X"),)
    # a remote head that vanished from the listing counts as deleted too
    assert actions({"a": "X"}, {"a": "X"}, {}) == (DeleteLocal("a", "X"),)


def test_local_edit_is_uploaded_after_the_head() -> None:
    head = rf("a", "X", 3)
    assert actions({"a": "X"}, {"a": "Y"}, {"a": head}) == (Upload("a", "Y", "id-a", 3),)


def test_local_new_file_is_uploaded_as_new() -> None:
    assert actions({}, {"a": "Y"}, {}) == (Upload("a", "Y", None, 0),)


def test_local_new_file_over_an_old_tombstone_continues_its_history() -> None:
    tomb = rf("a", None, 4)
    assert actions({}, {"a": "Y"}, {"a": tomb}) == (Upload("a", "Y", "id-a", 4),)


def test_local_delete_appends_a_tombstone() -> None:
    head = rf("a", "X", 2)
    assert actions({"a": "X"}, {}, {"a": head}) == (DeleteRemote("a", "id-a", 2),)


def test_local_delete_loses_against_remote_edit() -> None:
    head = rf("a", "Y", 2)
    assert actions({"a": "X"}, {}, {"a": head}) == (Download("a", head, replaces=None),)


def test_remote_delete_loses_against_local_edit() -> None:
    tomb = rf("a", None, 2)
    assert actions({"a": "X"}, {"a": "Y"}, {"a": tomb}) == (Upload("a", "Y", "id-a", 2),)
    assert actions({"a": "X"}, {"a": "Y"}, {}) == (Upload("a", "Y", None, 0),)


def test_two_edits_make_a_conflict_copy() -> None:
    head = rf("avis.pdf", "R", 2)
    got = actions({"avis.pdf": "B"}, {"avis.pdf": "L"}, {"avis.pdf": head})
    assert got == (ConflictCopy("avis.pdf", "avis (conflict, laptop, 2024-05-17).pdf", "L", head),)


def test_two_new_files_at_the_same_path_conflict() -> None:
    head = rf("a", "R")
    assert actions({}, {"a": "L"}, {"a": head}) == (ConflictCopy("a", cname("a"), "L", head),)


def test_local_content_is_only_deleted_or_replaced_when_equal_to_base() -> None:
    for the_plan in (
        run({"a": "B"}, {"a": "L"}, {"a": rf("a", None, 2)}),
        run({"a": "B"}, {"a": "L"}, {"a": rf("a", "R", 2)}),
        run({}, {"a": "L"}, {"a": rf("a", "R", 2)}),
    ):
        for action in the_plan.actions:
            assert not isinstance(action, DeleteLocal | Download)


# --------------------------------------------------------------------------- conflict names


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("avis.pdf", "avis (conflict, laptop, 2024-05-17).pdf"),
        ("notes", "notes (conflict, laptop, 2024-05-17)"),
        ("impots/2023/avis.pdf", "impots/2023/avis (conflict, laptop, 2024-05-17).pdf"),
        ("d.v2/notes", "d.v2/notes (conflict, laptop, 2024-05-17)"),
        ("archive.tar.gz", "archive.tar (conflict, laptop, 2024-05-17).gz"),
        (".profile", ".profile (conflict, laptop, 2024-05-17)"),
        ("odd.", "odd. (conflict, laptop, 2024-05-17)"),
    ],
)
def test_conflict_names(path: str, expected: str) -> None:
    assert conflict_name(path, "laptop", DAY) == expected


def test_conflict_name_numbering_inside_the_parentheses() -> None:
    two = "d/avis (conflict, laptop, 2024-05-17 2).pdf"
    assert conflict_name("d/avis.pdf", "laptop", DAY, 2) == two
    assert conflict_name("avis", "laptop", DAY, 3) == "avis (conflict, laptop, 2024-05-17 3)"


def test_conflict_name_device_name_cannot_break_the_path() -> None:
    name = conflict_name("d/a.txt", "Jean's PC/2: \\home", DAY)
    assert name == "d/a (conflict, Jean's PC_2_ _home, 2024-05-17).txt"
    assert conflict_name("a", "  ", DAY) == "a (conflict, device, 2024-05-17)"


def _conflict_copy_path(the_plan: Plan, path: str) -> str:
    (cc,) = [a for a in the_plan.actions if isinstance(a, ConflictCopy) and a.path == path]
    return cc.copy_path


@pytest.mark.parametrize("where", ["local", "remote", "base", "tombstone", "folder"])
def test_conflict_name_collision_adds_a_number(where: str) -> None:
    taken = cname("d/avis.pdf")
    base: dict[str, str] = {"d/avis.pdf": "B"}
    local: dict[str, str] = {"d/avis.pdf": "L"}
    remote: dict[str, RemoteFile] = {"d/avis.pdf": rf("d/avis.pdf", "R", 2)}
    if where == "local":
        local[taken] = "Q"
    elif where == "remote":
        remote[taken] = rf(taken, "Q")
    elif where == "base":
        base[taken] = "Q"
    elif where == "tombstone":
        remote[taken] = rf(taken, None, 2)
    else:
        local[taken + "/inside"] = "Q"
    assert _conflict_copy_path(run(base, local, remote), "d/avis.pdf") == cname("d/avis.pdf", 2)


def test_conflict_name_collision_keeps_counting() -> None:
    local = {"a.txt": "L", cname("a.txt"): "Q", cname("a.txt", 2): "Q"}
    remote = {"a.txt": rf("a.txt", "R")}
    assert _conflict_copy_path(run({}, local, remote), "a.txt") == cname("a.txt", 3)


def test_conflict_of_a_conflict_copy() -> None:
    first = cname("x")
    local = {"x": "L1", first: "L2"}
    remote = {"x": rf("x", "R1"), first: rf(first, "R2")}
    the_plan = run({}, local, remote)
    copies = [a.copy_path for a in the_plan.actions if isinstance(a, ConflictCopy)]
    assert copies == [cname("x", 2), cname(first)]
    assert len(set(copies)) == 2


def test_conflict_copy_names_never_repeat_within_a_plan() -> None:
    paths = [f"d/f{i}.txt" for i in range(4)]
    local = {p: "L" + p for p in paths}
    remote = {p: rf(p, "R" + p) for p in paths}
    local[cname("d/f1.txt")] = "Q"
    the_plan = run({}, local, remote)
    copies = [a.copy_path for a in the_plan.actions if isinstance(a, ConflictCopy)]
    assert len(copies) == len(set(copies)) == 4
    assert cname("d/f1.txt", 2) in copies


# --------------------------------------------------------------------------- folder/file clash


def test_local_file_against_remote_folder_moves_the_file_aside() -> None:
    head = rf("a/b", "R")
    got = actions({}, {"a": "L"}, {"a/b": head})
    assert got == (
        ConflictCopy("a", cname("a"), "L", None),
        Download("a/b", head, replaces=None),
    )


def test_remote_file_against_local_folder_moves_the_remote_file_aside() -> None:
    head = rf("a", "R")
    got = actions({}, {"a/b": "L"}, {"a": head})
    assert got == (RemoteConflictCopy("a", cname("a"), head), Upload("a/b", "L", None, 0))


def test_clash_between_two_remote_heads() -> None:
    a, ab = rf("a", "R1"), rf("a/b", "R2")
    got = actions({}, {}, {"a": a, "a/b": ab})
    assert got == (RemoteConflictCopy("a", cname("a"), a), Download("a/b", ab, replaces=None))


def test_clash_with_a_synced_file_moves_it_on_both_sides() -> None:
    a, ab = rf("a", "X", 2), rf("a/b", "R")
    got = actions({"a": "X"}, {"a": "X"}, {"a": a, "a/b": ab})
    assert got == (
        ConflictCopy("a", cname("a"), "X", None),
        DeleteRemote("a", "id-a", 2),
        Download("a/b", ab, replaces=None),
    )


def test_clash_with_remote_edit_of_the_file_drops_only_the_superseded_local() -> None:
    a, ab = rf("a", "Y", 2), rf("a/b", "R")
    got = actions({"a": "X"}, {"a": "X"}, {"a": a, "a/b": ab})
    assert got == (
        DeleteLocal("a", "X"),
        RemoteConflictCopy("a", cname("a"), a),
        Download("a/b", ab, replaces=None),
    )


def test_clash_with_two_edits_keeps_both() -> None:
    a, ab = rf("a", "R", 2), rf("a/b", "Q")
    got = actions({"a": "B"}, {"a": "L"}, {"a": a, "a/b": ab})
    assert got == (
        ConflictCopy("a", cname("a"), "L", None),
        RemoteConflictCopy("a", cname("a", 2), a),
        Download("a/b", ab, replaces=None),
    )


def test_deleted_file_does_not_clash() -> None:
    # remote deleted "a" and created "a/b": plain delete + download, no copy
    ab = rf("a/b", "R")
    got = actions({"a": "X"}, {"a": "X"}, {"a": rf("a", None, 2), "a/b": ab})
    assert got == (DeleteLocal("a", "X"), Download("a/b", ab, replaces=None))


def test_nested_clashes_move_every_file_that_must_become_a_folder() -> None:
    heads = {"a": rf("a", "1"), "a/b": rf("a/b", "2"), "a/b/c": rf("a/b/c", "3")}
    got = actions({}, {}, heads)
    assert got == (
        RemoteConflictCopy("a", cname("a"), heads["a"]),
        RemoteConflictCopy("a/b", cname("a/b"), heads["a/b"]),
        Download("a/b/c", heads["a/b/c"], replaces=None),
    )


def test_clash_copy_name_avoids_folders() -> None:
    # "a (conflict, ...)" is already a folder remotely: the copy gets " 2"
    taken = cname("a") + "/x"
    heads = {"a/b": rf("a/b", "R"), taken: rf(taken, "Q")}
    the_plan = run({}, {"a": "L"}, heads)
    assert _conflict_copy_path(the_plan, "a") == cname("a", 2)


# --------------------------------------------------------------------------- guard


def _synced(n: int) -> tuple[dict[str, str], dict[str, RemoteFile]]:
    files = {f"f{i}": f"c{i}" for i in range(n)}
    return files, {p: rf(p, c) for p, c in files.items()}


def test_mass_remote_deletion_needs_confirmation() -> None:
    files, heads = _synced(10)
    local = {p: c for p, c in files.items() if p in ("f0", "f1", "f2", "f3")}
    the_plan = run(files, local, heads)
    assert (the_plan.deletions, the_plan.total) == (6, 10)
    assert the_plan.needs_confirmation
    assert sum(isinstance(a, DeleteRemote) for a in the_plan.actions) == 6


def test_mass_local_deletion_needs_confirmation() -> None:
    files, _ = _synced(6)
    tombs = {p: rf(p, None, 2) for p in files}
    the_plan = run(files, files, tombs)
    assert (the_plan.deletions, the_plan.total) == (6, 6)
    assert the_plan.needs_confirmation


def test_guard_ratio_is_strict() -> None:
    files, heads = _synced(10)
    local = {p: c for p, c in files.items() if p >= "f5"}  # deletes f0..f4: exactly half
    the_plan = run(files, local, heads)
    assert (the_plan.deletions, the_plan.total) == (5, 10)
    assert not the_plan.needs_confirmation


def test_guard_needs_a_minimum_count() -> None:
    files, heads = _synced(4)
    the_plan = run(files, {}, heads)
    assert (the_plan.deletions, the_plan.total) == (4, 4)
    assert not the_plan.needs_confirmation
    assert run(files, {}, heads, delete_guard_min=4).needs_confirmation


def test_guard_parameters() -> None:
    files, heads = _synced(10)
    local = {p: c for p, c in files.items() if p >= "f3"}  # 3 deletions out of 10
    assert not run(files, local, heads).needs_confirmation
    assert run(files, local, heads, delete_guard_ratio=0.2, delete_guard_min=3).needs_confirmation


def test_guard_counts_local_and_remote_deletions_together() -> None:
    files, heads = _synced(8)
    for p in ("f0", "f1", "f2"):
        heads[p] = rf(p, None, 2)
    local = {p: c for p, c in files.items() if p not in ("f3", "f4")}
    the_plan = run(files, local, heads)
    assert the_plan.deletions == 5
    assert the_plan.total == 8
    assert the_plan.needs_confirmation


def test_plan_is_returned_even_when_the_guard_fires() -> None:
    files, heads = _synced(10)
    the_plan = run(files, {}, heads)
    assert the_plan.needs_confirmation
    assert len(the_plan.actions) == 10


# --------------------------------------------------------------------------- determinism, input


def test_deterministic_and_sorted_by_path() -> None:
    base = {"z": "1", "m/a": "2", "b": "3"}
    local = {"z": "9", "b": "3", "new": "4"}
    remote = {"z": rf("z", "1"), "m/a": rf("m/a", "8", 2), "b": rf("b", None, 2)}
    first = run(base, local, remote)
    again = run(dict(reversed(base.items())), dict(reversed(local.items())), remote)
    assert first == again
    assert [a.path for a in first.actions] == ["b", "m/a", "new", "z"]


@pytest.mark.parametrize("bad", ["", "/a", "a/", "a//b", "a/./b", "../a", "a/..", "a\\b", "a\x00"])
def test_malformed_paths_are_refused(bad: str) -> None:
    with pytest.raises(FormatError):
        run({}, {bad: "X"}, {})
    with pytest.raises(FormatError):
        run({}, {}, {bad: rf("x", "X")})


@pytest.mark.parametrize("today", ["2024-5-17", "17/05/2024", "", "2024-05-17T00:00"])
def test_malformed_date_is_refused(today: str) -> None:
    with pytest.raises(FormatError):
        plan(PlanInput({}, {}, {}, "laptop", today))


def test_input_is_not_modified() -> None:
    base, local = {"a": "X"}, {"a": "Y", "b": "Z"}
    remote = {"a": rf("a", "W", 2)}
    run(base, local, remote)
    assert base == {"a": "X"}
    assert local == {"a": "Y", "b": "Z"}


# --------------------------------------------------------------------------- apply_base


def test_apply_base_after_a_complete_sync_equals_the_synced_tree() -> None:
    base = {"keep": "K", "edit": "E0", "gone": "G", "rdel": "D", "both": "B0", "agree": "A0"}
    local = {"keep": "K", "edit": "E1", "rdel": "D", "both": "L", "new": "N", "agree": "A1"}
    remote = {
        "keep": rf("keep", "K"),
        "edit": rf("edit", "E0"),
        "gone": rf("gone", "G"),
        "rdel": rf("rdel", None, 2),
        "both": rf("both", "R", 2),
        "agree": rf("agree", "A1", 2),
        "down": rf("down", "W"),
    }
    the_plan = run(base, local, remote)
    new = apply_base(base, the_plan.actions)
    assert new == {
        "keep": "K",
        "edit": "E1",
        "both": "R",
        cname("both"): "L",
        "new": "N",
        "agree": "A1",
        "down": "W",
    }
    assert base["edit"] == "E0"  # pure


def test_apply_base_only_counts_what_was_done() -> None:
    base = {"a": "X", "b": "Y"}
    up = Upload("a", "X2", "id-a", 1)
    dl = Download("b", rf("b", "Y2", 2), replaces="Y")
    assert apply_base(base, [up]) == {"a": "X2", "b": "Y"}
    assert apply_base(base, [dl]) == {"a": "X", "b": "Y2"}
    assert apply_base(base, []) == base


def test_apply_base_for_clash_actions() -> None:
    head = rf("a", "R")
    done: list[Action] = [
        ConflictCopy("a", cname("a"), "L", None),
        RemoteConflictCopy("a", cname("a", 2), head),
        DeleteRemote("x", "id-x", 1),
        DeleteLocal("y", "Y"),
        Adopt("z", None),
    ]
    base = {"a": "B", "x": "X", "y": "Y", "z": "Z"}
    assert apply_base(base, done) == {cname("a"): "L", cname("a", 2): "R"}
