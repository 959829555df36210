"""The one exception type the CLI turns into a clear message and a non-zero exit."""


class StorageBenchError(Exception):
    """A problem the user can fix: bad input, missing data, unknown name. The message says what and where."""


class UnknownNameError(StorageBenchError, KeyError):
    def __init__(self, kind: str, name: str, valid: list[str]):
        self.kind, self.name, self.valid = kind, name, valid
        super().__init__(f"unknown {kind} {name!r}; valid {kind}s: {', '.join(valid) or '(none)'}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]
