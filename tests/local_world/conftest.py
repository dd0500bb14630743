"""The emulated project the contract tests and the emulator's own talk to, through the real SDK
or plain HTTP."""

from tests.support.opentok import emu, ot

__all__ = ["emu", "ot"]
