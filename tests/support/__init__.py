"""Support code of every layer of the tests, in one place: the stack and its client (stack),
waiting on a condition (waiting), make dev as a process (dev_process), an OpenTok project of
the emulator (opentok), Vonage credentials (credentials), the events/ files' expectations
(events) and the browser (browser)."""
