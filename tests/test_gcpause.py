"""paused_gc: the collector is held off inside (nested too) and restored as it was after."""

from __future__ import annotations

import gc

from bot.gcpause import paused_gc


def test_pauses_nest_and_restore_the_collector() -> None:
    """Inner pauses keep it off; the outermost end turns it back on, and a collector that was
    off before stays off."""
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_inside_still_restores_the_collector() -> None:
    """An exception in the block does not leave garbage collection off."""
    try:
        with paused_gc():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()


def test_a_settling_pause_freezes_what_lives_before_collecting_again() -> None:
    """With settle, the objects alive at the end are moved out of the collector's sight."""
    gc.unfreeze()
    try:
        kept = [object() for _ in range(1000)]
        before = gc.get_freeze_count()
        with paused_gc(settle=True):
            kept += [[i] for i in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + 1000
    finally:
        gc.unfreeze()
