"""For tests of saber and of backends: an in-memory backend and the contract suite (pytest)."""

from saber.backends.testing._fake import FakeBackend, FakeResult

__all__ = ["BackendContract", "FakeBackend", "FakeResult"]


def __getattr__(name: str):
    if name == "BackendContract":  # needs pytest, which only tests have
        from saber.backends.testing._contract import BackendContract

        return BackendContract
    raise AttributeError(name)
