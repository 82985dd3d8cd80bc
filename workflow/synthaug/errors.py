"""Errors a user can cause: each message names the file or config key and says what to do."""


class UserError(Exception):
    """A mistake in the user's config or data, reported without a traceback.

    Scripts let it propagate; ``synthaug.io.run_logged`` prints only the message to the rule's log and exits 1.
    """


class ConfigError(UserError):
    """A config value that the schema allows but the stage cannot use (e.g. an image too small for a model)."""

    def __init__(self, key: str, message: str):
        super().__init__(f"config key '{key}': {message}")
        self.key = key


class DataError(UserError):
    """A missing, unreadable or inconsistent input file."""

    def __init__(self, path, message: str):
        super().__init__(f"{path}: {message}")
        self.path = str(path)
