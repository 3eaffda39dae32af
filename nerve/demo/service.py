"""Placeholder replaced by the demo simulator."""


def run_demo(*, host: str, port: int, customers: int, duration: float | None) -> None:
    raise NotImplementedError
