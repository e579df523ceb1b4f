"""minestream: a Python client of mine-server (streaming mutual-information
estimation over gRPC).

    import minestream
    client = minestream.Client("localhost:50051")
    session = client.create_session("demo", x_dim=2, z_dim=2, hidden_units=[64, 64])
    session.push(x, z)               # numpy arrays (rows, dim) or lists
    print(session.estimate().mi_nats)
    alerting = client.create_session("watched", x_dim=2, z_dim=2,
                                     alert_rules=minestream.alert_rules(above=0.5, hysteresis=0.1))

The generated modules (mine.v1.mine_pb2, mine_pb2_grpc) are built by CMake
into <build>/client/python; see client/python/README.md.
"""

from minestream.alerts import alert_rules
from minestream.errors import MineError
from minestream.session import Session
from minestream.client import Client
from mine.v1 import mine_pb2 as pb

__all__ = ["Client", "Session", "MineError", "alert_rules", "pb"]
