"""Reliability tests: outages, time limits, worker logging (RELIABILITY A5-A7)."""


def pytest_configure(config):
    # Registered here (pyproject.toml is not ours to edit); CI runs these tests too.
    config.addinivalue_line(
        "markers", "slow: outage test with real subprocesses (worker, beat, redis-server)"
    )
