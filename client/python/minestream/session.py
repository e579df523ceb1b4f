"""Session: one server-side session, to push or stream rows into and read
estimates from."""

import grpc
import numpy as np

from mine.v1 import mine_pb2 as pb
from minestream.errors import MineError


def _rows(values, dim, name):
    """values as a float32 (rows, dim) array; 1-D input is one column."""
    array = np.asarray(values, dtype=np.float32)
    if array.ndim == 1:
        array = array.reshape(-1, 1) if dim == 1 else array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != dim:
        raise ValueError(f"{name} must have shape (rows, {dim}), got {np.shape(values)}")
    return array


class Session:
    """A handle on session `session_id` reached through `client`. Cheap; holds
    no server resources. Thread-safe as far as grpc channels are."""

    def __init__(self, client, session_id, x_dim, z_dim):
        self._client = client
        self.session_id = session_id
        self.x_dim = x_dim
        self.z_dim = z_dim

    def __repr__(self):
        return f"Session({self.session_id!r}, x_dim={self.x_dim}, z_dim={self.z_dim})"

    def _batch(self, x, z, with_id=True):
        xs = _rows(x, self.x_dim, "x")
        zs = _rows(z, self.z_dim, "z")
        if xs.shape[0] != zs.shape[0]:
            raise ValueError(f"x has {xs.shape[0]} rows but z has {zs.shape[0]}")
        if xs.shape[0] == 0:
            raise ValueError("a batch needs at least one row")
        batch = pb.SampleBatch(x=xs.ravel().tolist(), z=zs.ravel().tolist())
        if with_id:
            batch.session_id = self.session_id
        return batch

    def info(self):
        """The session as the server sees it (mine_pb2.Session)."""
        return self._client.get_session_info(self.session_id)

    def alerts(self):
        """The session's newest dependence alerts (mine_pb2.Alert), oldest
        first; watch() delivers them as they happen, in Estimate.alerts."""
        return list(self.info().alerts)

    def push(self, x, z, batch_rows=8192, sequence=0):
        """Adds rows with PushSamples, `batch_rows` per call. Returns the last
        PushSamplesResponse (accepted_rows is of that call, samples_seen the
        session's total). `sequence` > 0 numbers the calls sequence,
        sequence + 1, ...: the server then applies a resent call once, and
        acknowledges (without applying) any call at or below the highest
        sequence it has accepted, so one writer per session should use it."""
        xs = _rows(x, self.x_dim, "x")
        zs = _rows(z, self.z_dim, "z")
        if xs.shape[0] != zs.shape[0]:
            raise ValueError(f"x has {xs.shape[0]} rows but z has {zs.shape[0]}")
        response = None
        for first in range(0, xs.shape[0], batch_rows):
            batch = self._batch(xs[first:first + batch_rows], zs[first:first + batch_rows])
            if sequence > 0:
                batch.sequence = sequence
                sequence += 1
            response = self._client._unary("PushSamples", self.session_id, batch)
        return response

    def stream(self, batches):
        """Streams an iterable of (x, z) batches over one StreamSamples call
        and yields each estimate the server writes back; the last one is the
        final estimate, which reflects every row sent. Raises MineError."""
        def requests():
            first = True
            for x, z in batches:
                batch = self._batch(x, z, with_id=first)
                first = False
                yield batch

        call = self._client._stub.StreamSamples(requests(), metadata=self._client._metadata(self.session_id))
        try:
            for estimate in call:
                yield estimate
        except grpc.RpcError as error:
            raise MineError.from_rpc_error(error, "StreamSamples") from None
        finally:
            call.cancel()

    def estimate(self):
        """The latest estimate (mine_pb2.Estimate)."""
        return self._client._unary("GetEstimate", self.session_id,
                                   pb.GetEstimateRequest(session_id=self.session_id))

    def watch(self, min_interval_ms=0):
        """Yields the current estimate, then every change (at most one per
        min_interval_ms) until the session is deleted (MineError NOT_FOUND),
        the server stops, or the caller stops iterating."""
        call = self._client._stub.WatchEstimates(
            pb.WatchEstimatesRequest(session_id=self.session_id, min_interval_ms=min_interval_ms),
            metadata=self._client._metadata(self.session_id))
        try:
            for estimate in call:
                yield estimate
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                raise MineError.from_rpc_error(error, "WatchEstimates") from None
        finally:
            call.cancel()

    def delete(self):
        self._client.delete_session(self.session_id)
