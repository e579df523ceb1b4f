"""Client: a connection to one mine-server."""

import random
import time

import grpc

from mine.v1 import mine_pb2 as pb
from mine.v1 import mine_pb2_grpc as pb_grpc
from minestream.errors import MineError
from minestream.session import Session

_ENUMS = {"estimator": pb.Estimator, "activation": pb.Activation,
          "marginal_sampling": pb.MarginalSampling, "input_normalization": pb.InputNormalization}


class Client:
    """Talks to mine-server at `target` ("host:port"). Unary calls
    have a `timeout` (seconds) and are retried on UNAVAILABLE up to
    `max_attempts` times with exponential backoff and jitter. Every call sends
    `x-session-id` metadata, and `authorization: Bearer <token>` when `token`
    is given. TLS: `tls=True` (system roots) or `tls_ca` (PEM file of the CA
    that signed the server); mutual TLS adds `tls_cert` and `tls_key` (PEM
    files). Use as a context manager or call close()."""

    def __init__(self, target="localhost:50051", timeout=10.0, max_attempts=4,
                 initial_backoff=0.1, max_backoff=5.0, token=None, tls=False,
                 tls_ca=None, tls_cert=None, tls_key=None):
        self.target = target
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self._token = token
        if bool(tls_cert) != bool(tls_key):
            raise ValueError("tls_cert and tls_key go together")
        if tls or tls_ca or tls_cert:
            def read(path):
                with open(path, "rb") as f:
                    return f.read()
            credentials = grpc.ssl_channel_credentials(
                root_certificates=read(tls_ca) if tls_ca else None,
                private_key=read(tls_key) if tls_key else None,
                certificate_chain=read(tls_cert) if tls_cert else None)
            self._channel = grpc.secure_channel(target, credentials)
        else:
            self._channel = grpc.insecure_channel(target)
        self._stub = pb_grpc.MineServiceStub(self._channel)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._channel.close()

    def _metadata(self, session_id):
        metadata = (("x-session-id", session_id or ""),)
        if self._token:
            metadata += (("authorization", "Bearer " + self._token),)
        return metadata

    def _unary(self, method, session_id, request):
        delay = self.initial_backoff
        for attempt in range(1, self.max_attempts + 1):
            try:
                return getattr(self._stub, method)(request, timeout=self.timeout,
                                                   metadata=self._metadata(session_id))
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE or attempt == self.max_attempts:
                    raise MineError.from_rpc_error(error, method) from None
            time.sleep(min(delay, self.max_backoff) * random.uniform(0.8, 1.2))
            delay *= 2

    def create_session(self, session_id="", x_dim=1, z_dim=1, **config):
        """Creates (or, with the same config, reopens) a session. `config` takes
        any SessionConfig field, e.g. hidden_units=[64, 64], batch_size=64,
        estimator="MINE_F", alert_rules=minestream.alert_rules(above=0.5);
        enum fields take names or values."""
        for field, enum in _ENUMS.items():
            if isinstance(config.get(field), str):
                config[field] = enum.Value(config[field].upper())
        try:
            cfg = pb.SessionConfig(x_dim=x_dim, z_dim=z_dim, **config)
        except (ValueError, TypeError) as error:
            raise ValueError(f"bad session config: {error}") from None
        created = self._unary("CreateSession", session_id,
                              pb.CreateSessionRequest(session_id=session_id, config=cfg))
        return Session(self, created.session_id, created.config.x_dim, created.config.z_dim)

    def get_session_info(self, session_id):
        """The session (mine_pb2.Session): config, counts, latest estimate."""
        return self._unary("GetSession", session_id, pb.GetSessionRequest(session_id=session_id))

    def get_session(self, session_id):
        """A Session handle on an existing session (MineError NOT_FOUND if none)."""
        info = self.get_session_info(session_id)
        return Session(self, info.session_id, info.config.x_dim, info.config.z_dim)

    def list_sessions(self):
        """Every session (mine_pb2.Session), in session_id order."""
        sessions, token = [], ""
        while True:
            page = self._unary("ListSessions", "", pb.ListSessionsRequest(page_token=token))
            sessions.extend(page.sessions)
            token = page.next_page_token
            if not token:
                return sessions

    def delete_session(self, session_id):
        self._unary("DeleteSession", session_id, pb.DeleteSessionRequest(session_id=session_id))
