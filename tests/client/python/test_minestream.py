"""The Python client end to end against a real mine-server process (path in
$MINE_SERVER), run by ctest with PYTHONPATH set to the generated modules and
client/python."""

import math
import os
import signal
import subprocess
import time
import unittest

import grpc
import numpy as np

import minestream

SMALL = dict(hidden_units=[32, 32], batch_size=64, window_size=4096, seed=3)


def gaussian(rows, rho=0.8, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 1))
    z = rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal((rows, 1))
    return x, z


def make_certificates():
    """A fresh directory (per process and call) with ca.pem, server.pem/.key
    (for 127.0.0.1), client.pem/.key signed by the CA, and other-ca.pem, a CA
    that signed nothing here. Made by openssl now."""
    import tempfile
    d = tempfile.mkdtemp(prefix="mine-tls-%d-" % os.getpid())

    def run(*args):
        subprocess.run(args, cwd=d, check=True, capture_output=True)

    for name in ("ca", "other-ca", "server", "client"):
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", name + ".key")
    for name in ("ca", "other-ca"):
        run("openssl", "req", "-x509", "-new", "-key", name + ".key", "-out", name + ".pem",
            "-days", "2", "-subj", "/CN=" + name)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        run("openssl", "req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj",
            "/CN=" + name)
        run("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext")
    return d


def start_server(*flags):
    """mine-server on a free port with `flags`; (process, "host:port")."""
    server = subprocess.Popen(
        [os.environ["MINE_SERVER"], "--host=127.0.0.1", "--port=0", "--workers=1",
         "--metrics_port=0", "--state_dir="] + list(flags),
        stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    prefix = "mine-server listening on "
    assert line.startswith(prefix), line
    return server, line[len(prefix):].split(" ")[0]


def stop_server(server):
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    server.stdout.close()


class MinestreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server, cls.target = start_server("--workers=2")
        cls.client = minestream.Client(cls.target, timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        stop_server(cls.server)

    def test_push_then_estimate(self):
        session = self.client.create_session("py-push", x_dim=1, z_dim=1, **SMALL)
        x, z = gaussian(2000)
        response = session.push(x, z, batch_rows=500)
        self.assertEqual(response.samples_seen, 2000)
        session.push(x[:10].tolist(), z[:10].ravel().tolist())  # lists work too
        estimate = session.estimate()
        self.assertEqual(estimate.session_id, "py-push")
        # Computed asynchronously: it may not count the newest rows yet.
        self.assertNotEqual(estimate.estimator, minestream.pb.ESTIMATOR_UNSPECIFIED)
        self.assertEqual(session.info().samples_seen, 2010)
        self.assertFalse(session.push(x[:5], z[:5], sequence=7).duplicate)
        self.assertTrue(session.push(x[:5], z[:5], sequence=7).duplicate)  # a resend
        self.assertEqual(session.info().samples_seen, 2015)
        session.delete()

    def test_stream_yields_estimates_and_final_reflects_all_rows(self):
        session = self.client.create_session("py-stream", x_dim=1, z_dim=1, **SMALL)
        x, z = gaussian(3000, seed=2)
        estimates = list(session.stream((x[i:i + 300], z[i:i + 300]) for i in range(0, 3000, 300)))
        self.assertGreaterEqual(len(estimates), 1)
        self.assertEqual(estimates[-1].samples_seen, 3000)
        session.delete()

    def test_watch_is_an_iterator(self):
        session = self.client.create_session("py-watch", x_dim=1, z_dim=1, **SMALL)
        first = next(iter(session.watch(min_interval_ms=10)))
        self.assertEqual(first.session_id, "py-watch")
        session.delete()

    def test_alert_rules_are_kept_and_alerts_arrive_on_watch(self):
        rules = minestream.alert_rules(above=0.1, hysteresis=0.09)  # truth 0.51 nats
        session = self.client.create_session("py-alerts", x_dim=1, z_dim=1, alert_rules=rules,
                                             **SMALL)
        self.assertEqual(session.info().config.alert_rules, rules)
        watch = session.watch()
        next(watch)  # subscribed: the current estimate
        x, z = gaussian(4000, seed=5)
        session.push(x, z)
        alerted = next(e for e in watch if e.alerts)
        watch.close()
        self.assertEqual(alerted.alerts[0].kind, minestream.pb.THRESHOLD_FIRING)
        self.assertGreater(alerted.alerts[0].mi_nats, 0.1)
        self.assertTrue(session.info().threshold_firing)
        self.assertEqual(session.alerts()[0].estimate_version, alerted.alerts[0].estimate_version)
        with self.assertRaises(minestream.MineError) as caught:
            self.client.create_session("py-bad-alerts", x_dim=1, z_dim=1,
                                       alert_rules=minestream.alert_rules(below=0.2, hysteresis=-1))
        self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("config.alert_rules.threshold.hysteresis_nats", caught.exception.details)
        session.delete()

    def test_list_and_delete(self):
        self.client.create_session("py-list", x_dim=2, z_dim=3, **SMALL)
        ids = [s.session_id for s in self.client.list_sessions()]
        self.assertIn("py-list", ids)
        self.client.delete_session("py-list")
        with self.assertRaises(minestream.MineError) as raised:
            self.client.get_session("py-list")
        self.assertEqual(raised.exception.code, grpc.StatusCode.NOT_FOUND)

    def test_nan_row_surfaces_as_invalid_argument(self):
        session = self.client.create_session("py-nan", x_dim=1, z_dim=1, **SMALL)
        with self.assertRaises(minestream.MineError) as raised:
            session.push([[1.0], [float("nan")]], [[1.0], [2.0]])
        self.assertEqual(raised.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(raised.exception.code_name, "INVALID_ARGUMENT")
        self.assertIn("INVALID_ARGUMENT", str(raised.exception))
        session.delete()

    def test_unknown_session_surfaces_as_not_found(self):
        with self.assertRaises(minestream.MineError) as raised:
            self.client.get_session_info("py-nobody")
        self.assertEqual(raised.exception.code_name, "NOT_FOUND")
        ghost = minestream.Session(self.client, "py-ghost", 1, 1)
        with self.assertRaises(minestream.MineError) as raised:
            list(ghost.stream([([1.0], [2.0])]))
        self.assertEqual(raised.exception.code, grpc.StatusCode.NOT_FOUND)

    def test_unreachable_server_raises_unavailable(self):
        with minestream.Client("127.0.0.1:1", timeout=2, max_attempts=2,
                               initial_backoff=0.01) as client:
            with self.assertRaises(minestream.MineError) as raised:
                client.list_sessions()
        self.assertEqual(raised.exception.code, grpc.StatusCode.UNAVAILABLE)

    def test_bad_shapes_are_rejected_locally(self):
        session = minestream.Session(self.client, "py-shape", 2, 1)
        with self.assertRaises(ValueError):
            session.push(np.zeros((3, 3)), np.zeros((3, 1)))


if __name__ == "__main__":
    unittest.main()


class SecureServerTest(unittest.TestCase):
    """mine-server with --tls_cert/--tls_key and --auth_tokens_file (certificates
    made by openssl now); the client with tls_ca and token; SIGHUP reloads."""

    @classmethod
    def setUpClass(cls):
        cls.dir = make_certificates()
        d = cls.dir
        cls.tokens = os.path.join(d, "tokens")
        with open(cls.tokens, "w") as f:
            f.write("python-token-0123456789 acme\n")
        cls.server, cls.target = start_server(
            "--tls_cert=" + os.path.join(d, "server.pem"),
            "--tls_key=" + os.path.join(d, "server.key"), "--auth_tokens_file=" + cls.tokens)
        cls.ca = os.path.join(d, "ca.pem")

    @classmethod
    def tearDownClass(cls):
        stop_server(cls.server)

    def test_token_over_tls(self):
        with minestream.Client(self.target, tls_ca=self.ca, token="python-token-0123456789",
                               max_attempts=1) as client:
            session = client.create_session("py-tls", x_dim=1, z_dim=1, **SMALL)
            self.assertEqual([s.session_id for s in client.list_sessions()], ["py-tls"])
            session.delete()
        with minestream.Client(self.target, tls_ca=self.ca, max_attempts=1) as client:
            with self.assertRaises(minestream.MineError) as caught:
                client.list_sessions()
            self.assertEqual(caught.exception.code, grpc.StatusCode.UNAUTHENTICATED)

    def test_sighup_reloads_tokens(self):
        with open(self.tokens, "a") as f:
            f.write("second-token-0123456789 globex\n")
        self.server.send_signal(signal.SIGHUP)
        with minestream.Client(self.target, tls_ca=self.ca, token="second-token-0123456789",
                               max_attempts=1, timeout=5) as client:
            for _ in range(100):  # the reload is asynchronous
                try:
                    self.assertEqual(client.list_sessions(), [])
                    break
                except minestream.MineError as error:
                    self.assertEqual(error.code, grpc.StatusCode.UNAUTHENTICATED)
                    time.sleep(0.05)
            else:
                self.fail("the new token was never accepted")


class MutualTlsTest(unittest.TestCase):
    """mine-server with --tls_client_ca: a client certificate signed by that CA
    is required, and a client that trusts another CA refuses the server."""

    @classmethod
    def setUpClass(cls):
        cls.dir = make_certificates()
        cls.server, cls.target = start_server(
            "--tls_cert=" + os.path.join(cls.dir, "server.pem"),
            "--tls_key=" + os.path.join(cls.dir, "server.key"),
            "--tls_client_ca=" + os.path.join(cls.dir, "ca.pem"))

    @classmethod
    def tearDownClass(cls):
        stop_server(cls.server)

    def path(self, name):
        return os.path.join(self.dir, name)

    def client(self, ca="ca.pem", cert=None, key=None):
        return minestream.Client(self.target, tls_ca=self.path(ca), max_attempts=1, timeout=5,
                                 tls_cert=cert and self.path(cert), tls_key=key and self.path(key))

    def test_client_certificate_signed_by_the_ca_is_accepted(self):
        with self.client(cert="client.pem", key="client.key") as client:
            self.assertEqual(client.list_sessions(), [])

    def test_no_client_certificate_is_refused(self):
        with self.client() as client:
            with self.assertRaises(minestream.MineError) as caught:
                client.list_sessions()
            self.assertEqual(caught.exception.code, grpc.StatusCode.UNAVAILABLE)

    def test_a_server_the_ca_did_not_sign_is_refused(self):
        with self.client(ca="other-ca.pem", cert="client.pem", key="client.key") as client:
            with self.assertRaises(minestream.MineError) as caught:
                client.list_sessions()
            self.assertEqual(caught.exception.code, grpc.StatusCode.UNAVAILABLE)
            self.assertRegex(caught.exception.details, "(?i)handshake|certificate")


def _raw(value):
    return value


class HealthAndReflectionTest(unittest.TestCase):
    """grpc.health.v1 and grpc.reflection.v1alpha through raw calls (Debian's
    python3-grpcio ships neither stub): SERVING after start for "" and
    mine.v1.MineService, NOT_SERVING to a health watcher once SIGTERM starts the
    drain; reflection lists the services."""

    def setUp(self):
        self.server, target = start_server("--shutdown_grace_s=5")
        self.channel = grpc.insecure_channel(target)

    def tearDown(self):
        self.channel.close()
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
        self.server.wait(timeout=30)
        self.server.stdout.close()

    @staticmethod
    def _health_request(service):
        name = service.encode()
        return b"\x0a" + bytes([len(name)]) + name if name else b""

    def test_health_serving_then_not_serving_while_draining(self):
        check = self.channel.unary_unary("/grpc.health.v1.Health/Check", _raw, _raw)
        for service in ("", "mine.v1.MineService"):
            self.assertEqual(check(self._health_request(service), timeout=10), b"\x08\x01")
        watch = self.channel.unary_stream("/grpc.health.v1.Health/Watch", _raw, _raw)
        updates = watch(self._health_request("mine.v1.MineService"))
        self.assertEqual(next(updates), b"\x08\x01")  # SERVING
        self.server.send_signal(signal.SIGTERM)
        self.assertEqual(next(updates), b"\x08\x02")  # NOT_SERVING
        self.assertEqual(self.server.wait(timeout=30), 0)

    def test_reflection_lists_the_services(self):
        info = self.channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", _raw, _raw)
        # ServerReflectionRequest{list_services: ""} is field 7, length 0.
        response = next(info(iter([b"\x3a\x00"]), timeout=10))
        self.assertIn(b"mine.v1.MineService", response)
        self.assertIn(b"grpc.health.v1.Health", response)
