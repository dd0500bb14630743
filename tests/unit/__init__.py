"""The unit layer: the product's pure logic, no stack, no worker, no emulator; the whole layer
runs in seconds (`.venv/bin/python -m pytest tests/unit`). What touches AWS runs under moto's
`mock_aws` (the `aws` fixture) with only the resources a test makes."""
