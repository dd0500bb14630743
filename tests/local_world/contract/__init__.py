"""Contract tests: the emulator held, row by row, to ../shared/opentok-rest-contract.md.

Each test names the contract section it checks and the public source behind it; a test for
a fact the contract marks unverified says so in its name (`..._unverified`).
"""
