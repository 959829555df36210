"""The one exception type the CLI turns into a clear message and a non-zero exit."""


class StorageBenchError(Exception):
    """A problem the user can fix: bad input, missing data, unknown name. The message says what and where."""


def did_you_mean(name: str, valid: list[str]) -> str:
    """'; did you mean 'run'?' for the closest valid name, or nothing when none is close."""
    import difflib

    close = difflib.get_close_matches(str(name), list(valid), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class UnknownNameError(StorageBenchError, KeyError):
    def __init__(self, kind: str, name: str, valid: list[str]):
        self.kind, self.name, self.valid = kind, name, valid
        super().__init__(f"unknown {kind} {name!r}{did_you_mean(name, valid)}; valid {kind}s: "
                         f"{', '.join(valid) or '(none)'}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]
