"""Fixtures every layer may ask for; the code behind them lives in tests/support/."""

from tests.support.stack import aws, emulator, stack, stack_parameters

__all__ = ["aws", "emulator", "stack", "stack_parameters"]
