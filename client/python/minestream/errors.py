"""MineError: every failed call, with its gRPC status code."""

import grpc


class MineError(Exception):
    """A failed call. `.code` is the grpc.StatusCode, `.code_name` its name
    ("NOT_FOUND", ...), `.details` the server's message, `.method` the call."""

    def __init__(self, code, details, method=""):
        self.code = code
        self.code_name = code.name if isinstance(code, grpc.StatusCode) else str(code)
        self.details = details or ""
        self.method = method
        prefix = f"{method}: " if method else ""
        super().__init__(f"{prefix}{self.code_name}: {self.details}")

    @classmethod
    def from_rpc_error(cls, error, method=""):
        return cls(error.code(), error.details(), method)
