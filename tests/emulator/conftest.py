"""The emulated project every contract test talks to, through the real SDK or plain HTTP."""

from tests.contract.support import emu, ot

__all__ = ["emu", "ot"]
