#!/usr/bin/env python3
"""Offline checks of deploy/: the Kubernetes manifests, compose.yaml and the
Prometheus and Grafana files. No cluster and no network: strict YAML (no
duplicate keys), known kinds, and the cross-references a typo would break
(selectors, ports, volumes, Secrets, flags, metric names, probe and shutdown
timings, router vs StatefulSet), each failure naming the file and object.

    deploy/k8s/validate.py [--secrets FILE] [--k8s-models DIR]

--secrets: the YAML written by make-secrets.sh, so that the Secrets the
manifests mount are checked too. --k8s-models: a kubernetes/client/models
folder of the official Python client (any recent release); with it every
field of every object is checked against the API's types (unknown or
misspelled fields, wrong scalar types, missing required fields). Exit 1 on any
failure. deploy/k8s/validate.sh runs this and nginx -t on the router's config.
"""

import argparse
import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
DEPLOY = ROOT / "deploy"

KINDS = {
    ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"), ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "StatefulSet"), ("apps/v1", "Deployment"), ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"), ("networking.k8s.io/v1", "NetworkPolicy"),
}
# Files in deploy/k8s that are not cluster objects of this application.
NOT_APPLIED = {"kustomization.yaml", "prometheus-adapter-rules.yaml"}
# mine-server flags added by the failover change (issue 7), which the
# manifests already use; every other flag must be an ABSL_FLAG of the sources.
FAILOVER_FLAGS = {"shared_state", "replica_id", "lease_ttl_s"}
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a mapping with the same key twice."""


def _construct_mapping(loader, node, deep=False):
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        keys.add(key)
    return loader.construct_mapping(node, deep)


StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_all(path):
    try:
        with open(path) as f:
            return [d for d in yaml.load_all(f, Loader=StrictLoader) if d is not None]
    except (yaml.YAMLError, OSError) as e:
        fail(path.name, f"not valid YAML: {e}")
        return []


def name_of(obj):
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def source_flags():
    names = set()
    for path in (ROOT / "server").rglob("*.cc"):
        names.update(re.findall(r"ABSL_FLAG\(\s*[\w:]+\s*,\s*(\w+)\s*,", path.read_text()))
    return names


def exported_metrics():
    text = (ROOT / "server" / "service" / "service_metrics.cc").read_text()
    return set(re.findall(r'"(mine_[a-z0-9_]+)"', text))


def parse_flags(text):
    flags = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"--(\w+)(?:=(.*))?", line)
        if not m:
            fail("server-config.yaml", f"not a --flag[=value] line: {line!r}")
            continue
        flags[m.group(1)] = m.group(2) if m.group(2) is not None else "true"
    return flags


def pod_spec(obj):
    return obj.get("spec", {}).get("template", {}).get("spec", {})


def pod_labels(obj):
    return obj.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})


def container_ports(obj):
    ports = {}
    for c in pod_spec(obj).get("containers", []):
        for p in c.get("ports", []):
            ports[p.get("name")] = p.get("containerPort")
    return ports


def seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", str(text))
    if not m:
        return None
    return int(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


# --------------------------------------------------------------------------
# Kubernetes: generic structure.

def check_objects(objects):
    seen = set()
    for path, obj in objects:
        where = f"{path.name} {name_of(obj)}"
        if not isinstance(obj, dict):
            fail(path.name, "a document is not a mapping")
            continue
        if (obj.get("apiVersion"), obj.get("kind")) not in KINDS:
            fail(where, f"unexpected apiVersion/kind {obj.get('apiVersion')}/{obj.get('kind')}")
        name = obj.get("metadata", {}).get("name", "")
        if not DNS1123.match(name) or len(name) > 63:
            fail(where, f"metadata.name {name!r} is not a DNS-1123 label")
        if "namespace" in obj.get("metadata", {}):
            fail(where, "sets metadata.namespace: the namespace is chosen at apply time")
        if (obj.get("kind"), name) in seen:
            fail(where, "defined twice")
        seen.add((obj.get("kind"), name))
        for c in pod_spec(obj).get("containers", []):
            for key in ("requests", "limits"):
                if key not in c.get("resources", {}):
                    fail(where, f"container {c.get('name')} has no resources.{key}")
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False or sc.get("readOnlyRootFilesystem") is not True:
                fail(where, f"container {c.get('name')}: allowPrivilegeEscalation false and "
                            "readOnlyRootFilesystem true expected")
        if obj.get("kind") in ("StatefulSet", "Deployment"):
            spec = obj.get("spec", {})
            if not matches(spec.get("selector", {}).get("matchLabels"), pod_labels(obj)):
                fail(where, "spec.selector.matchLabels does not match the pod template's labels")
            if pod_spec(obj).get("securityContext", {}).get("runAsNonRoot") is not True:
                fail(where, "pods must set securityContext.runAsNonRoot: true")


def check_kustomization(files):
    docs = load_all(K8S / "kustomization.yaml")
    if not docs:
        return
    listed = docs[0].get("resources", [])
    for entry in listed:
        if not (K8S / entry).is_file():
            fail("kustomization.yaml", f"lists {entry}, which does not exist")
    for path in files:
        if path.name not in NOT_APPLIED and path.name not in listed:
            fail("kustomization.yaml", f"does not list {path.name}")


def check_references(objects, secrets):
    by_kind = {}
    for _, obj in objects + secrets:
        by_kind.setdefault(obj.get("kind"), {})[obj["metadata"]["name"]] = obj
    workloads = [o for k in ("StatefulSet", "Deployment") for o in by_kind.get(k, {}).values()]

    for path, obj in objects:
        where = f"{path.name} {name_of(obj)}"
        kind = obj.get("kind")
        spec = obj.get("spec", {})
        if kind == "Service":
            targets = [w for w in workloads if matches(spec.get("selector"), pod_labels(w))]
            if not targets:
                fail(where, "selector matches no workload's pods")
            for p in spec.get("ports", []):
                tp = p.get("targetPort")
                for w in targets:
                    ports = container_ports(w)
                    if tp not in ports and tp not in ports.values():
                        fail(where, f"targetPort {tp} is not a container port of {name_of(w)}")
        if kind in ("PodDisruptionBudget", "NetworkPolicy"):
            sel = (spec.get("selector") or spec.get("podSelector") or {}).get("matchLabels")
            if not any(matches(sel, pod_labels(w)) for w in workloads):
                fail(where, "selector matches no workload's pods")
        if kind == "NetworkPolicy":
            for rule in spec.get("ingress", []) + spec.get("egress", []):
                for peer in rule.get("from", []) + rule.get("to", []):
                    sel = peer.get("podSelector", {}).get("matchLabels")
                    if sel and "namespaceSelector" not in peer and not any(
                            matches(sel, pod_labels(w)) for w in workloads):
                        fail(where, f"peer podSelector {sel} matches no workload's pods")
        if kind in ("StatefulSet", "Deployment"):
            ps = pod_spec(obj)
            volumes = {v["name"]: v for v in ps.get("volumes", [])}
            for c in ps.get("containers", []):
                for m in c.get("volumeMounts", []):
                    if m["name"] not in volumes:
                        fail(where, f"volumeMount {m['name']} has no volume")
            for v in volumes.values():
                if "configMap" in v and v["configMap"]["name"] not in by_kind.get("ConfigMap", {}):
                    fail(where, f"volume {v['name']}: no ConfigMap {v['configMap']['name']}")
                if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in \
                        by_kind.get("PersistentVolumeClaim", {}):
                    fail(where, f"volume {v['name']}: no claim {v['persistentVolumeClaim']['claimName']}")
                if "secret" in v and secrets and v["secret"]["secretName"] not in by_kind.get("Secret", {}):
                    fail(where, f"volume {v['name']}: make-secrets.sh makes no Secret "
                                f"{v['secret']['secretName']}")
    return by_kind


# --------------------------------------------------------------------------
# Kubernetes: what this application needs.

def find(by_kind, kind, name):
    """The object kind/name, or None after a failure saying it is missing."""
    obj = by_kind.get(kind, {}).get(name)
    if obj is None:
        fail("deploy/k8s", f"no {kind} {name}")
    return obj


def check_server(by_kind, dockerfile):
    where = "server-statefulset.yaml StatefulSet/mine"
    sts = find(by_kind, "StatefulSet", "mine")
    if sts is None:
        return None
    spec = sts["spec"]
    headless = by_kind.get("Service", {}).get(spec.get("serviceName"))
    if headless is None or headless["spec"].get("clusterIP") != "None":
        fail(where, f"serviceName {spec.get('serviceName')} is not a headless Service")
    ps = pod_spec(sts)
    container = ps["containers"][0]
    args = container.get("args", [])
    mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in ps.get("volumes", [])}

    flagfile = next((a.split("=", 1)[1] for a in args if a.startswith("--flagfile=")), None)
    flags = {}
    if flagfile is None:
        fail(where, "no --flagfile argument")
    else:
        for name, m in mounts.items():
            cm = volumes.get(name, {}).get("configMap")
            if cm and flagfile.startswith(m["mountPath"] + "/"):
                key = flagfile[len(m["mountPath"]) + 1:]
                data = by_kind.get("ConfigMap", {}).get(cm["name"], {}).get("data", {})
                if key not in data:
                    fail(where, f"--flagfile {flagfile}: ConfigMap {cm['name']} has no key {key}")
                else:
                    flags = parse_flags(data[key])
        if not flags:
            fail(where, f"--flagfile {flagfile} is not in a mounted ConfigMap")
    for a in args:
        m = re.fullmatch(r"--(\w+)(?:=(.*))?", a)
        if m and m.group(1) != "flagfile":
            flags[m.group(1)] = m.group(2) if m.group(2) is not None else "true"
    known = source_flags() | FAILOVER_FLAGS
    for name in flags:
        if name not in known:
            fail(where, f"--{name} is not a mine-server flag")
    if flags.get("replica_id") != "$(POD_NAME)":
        fail(where, "--replica_id must be the pod name ($(POD_NAME))")

    ports = container_ports(sts)
    if ports.get("grpc") != int(flags.get("port", 50051)):
        fail(where, "container port grpc differs from --port")
    if ports.get("metrics") != int(flags.get("metrics_port", 9464)):
        fail(where, "container port metrics differs from --metrics_port")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        p = container.get(probe, {})
        grpc = p.get("grpc")
        if not grpc or grpc.get("port") != ports.get("grpc") or grpc.get("service") != "mine.v1.MineService":
            fail(where, f"{probe} must be a native gRPC probe of mine.v1.MineService on the gRPC port")

    # Shutdown: the kubelet waits terminationGracePeriodSeconds before SIGKILL.
    drain = min(int(flags.get("drain_s", 10)), int(flags.get("shutdown_grace_s", 10)))
    grace = ps.get("terminationGracePeriodSeconds", 30)
    if grace <= int(flags.get("drain_s", 10)) + 10:
        fail(where, f"terminationGracePeriodSeconds {grace} leaves under 10 s after --drain_s "
                    f"{flags.get('drain_s', 10)} for checkpointing")
    live = container.get("livenessProbe", {})
    if live.get("periodSeconds", 10) * live.get("failureThreshold", 3) < grace:
        fail(where, "livenessProbe could kill a draining pod before terminationGracePeriodSeconds")
    del drain

    # Resources: one core per training worker, Guaranteed QoS.
    res = container.get("resources", {})
    workers = int(flags.get("workers", 0))
    if workers < 1:
        fail(where, "--workers must be set: 0 means the node's CPUs, not the pod's limit")
    for key in ("requests", "limits"):
        if str(res.get(key, {}).get("cpu")) != str(workers):
            fail(where, f"resources.{key}.cpu {res.get(key, {}).get('cpu')} != --workers {workers}")
    if res.get("requests") != res.get("limits"):
        fail(where, "requests differ from limits (not Guaranteed QoS)")
    mem = str(res.get("limits", {}).get("memory", ""))
    m = re.fullmatch(r"(\d+)(Mi|Gi)", mem)
    budget = int(flags.get("max_session_memory_mb", 8192))
    if not m or int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1) < budget + 512:
        fail(where, f"memory limit {mem} is not above --max_session_memory_mb {budget} + 512 MiB")

    # State: the image's volume, shared and ReadWriteMany when --shared_state.
    state = [n for n, m in mounts.items() if m["mountPath"] == "/var/lib/minestream"]
    if not state:
        fail(where, "nothing mounted at the image's state directory /var/lib/minestream")
    else:
        claim = volumes.get(state[0], {}).get("persistentVolumeClaim", {}).get("claimName")
        pvc = by_kind.get("PersistentVolumeClaim", {}).get(claim)
        if "shared_state" in flags and (pvc is None or pvc["spec"].get("accessModes") != ["ReadWriteMany"]):
            fail(where, "--shared_state needs the state volume to be a ReadWriteMany claim")
    tokens = flags.get("auth_tokens_file")
    if tokens:
        if not any(tokens.startswith(m["mountPath"] + "/") and "secret" in volumes.get(n, {})
                   for n, m in mounts.items()):
            fail(where, f"--auth_tokens_file {tokens} is not in a mounted Secret")

    # The image: its user, state volume and ports.
    sc = ps.get("securityContext", {})
    if f"USER {sc.get('runAsUser')}:{sc.get('runAsGroup')}" not in dockerfile:
        fail(where, "runAsUser/runAsGroup differ from deploy/Dockerfile's USER")
    if "VOLUME /var/lib/minestream" not in dockerfile or \
            f"EXPOSE {ports.get('grpc')} {ports.get('metrics')}" not in dockerfile:
        fail(where, "state volume or ports differ from deploy/Dockerfile")
    return sts, flags


def check_hpa(by_kind, sts):
    where = "server-hpa.yaml HorizontalPodAutoscaler/mine"
    hpa = find(by_kind, "HorizontalPodAutoscaler", "mine")
    if hpa is None:
        return None
    spec = hpa["spec"]
    ref = spec.get("scaleTargetRef", {})
    if (ref.get("kind"), ref.get("name")) != ("StatefulSet", sts["metadata"]["name"]):
        fail(where, "scaleTargetRef is not the StatefulSet")
    if not 1 <= spec.get("minReplicas", 1) <= spec.get("maxReplicas", 0):
        fail(where, "needs 1 <= minReplicas <= maxReplicas")
    if "replicas" in sts["spec"]:
        fail(where, "the StatefulSet sets replicas: each kubectl apply would undo the HPA's count")
    metrics = exported_metrics()
    for m in spec.get("metrics", []):
        if m.get("type") == "Pods":
            name = m["pods"]["metric"]["name"]
            if name not in metrics:
                fail(where, f"metric {name} is not exported by mine-server (service_metrics.cc)")
    adapter = load_all(K8S / "prometheus-adapter-rules.yaml")
    served = {r.get("name", {}).get("as") for d in adapter for r in d.get("rules", [])}
    for m in spec.get("metrics", []):
        if m.get("type") == "Pods" and m["pods"]["metric"]["name"] not in served:
            fail(where, f"prometheus-adapter-rules.yaml does not serve {m['pods']['metric']['name']}")
    return hpa


def check_router(by_kind, sts, flags, hpa):
    where = "router.yaml Deployment/mine-router"
    router = find(by_kind, "Deployment", "mine-router")
    cm = find(by_kind, "ConfigMap", "mine-router")
    if router is None or cm is None:
        return
    conf = cm.get("data", {}).get("nginx.conf", "")
    if not re.search(r"hash\s+\$http_x_session_id\s+consistent;", conf):
        fail(where, "nginx.conf does not hash on $http_x_session_id consistently")
    if not re.search(r"grpc_pass\s+grpcs?://mine_servers;", conf):
        fail(where, "nginx.conf does not grpc_pass to the upstream mine_servers")
    if "include /run/mine-router/upstream.conf;" not in conf:
        fail(where, "nginx.conf does not include the upstream list mine-router.sh writes")
    if not re.search(r"client_max_body_size\s+0;", conf):
        fail(where, "client_max_body_size must be 0: a stream is one request body")
    c = pod_spec(router)["containers"][0]
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    fmt = env.get("MINE_UPSTREAM_NAME_FORMAT", "")
    expected = f"{sts['metadata']['name']}-0.{sts['spec']['serviceName']}"
    if "%d" not in fmt or fmt.replace("%d", "0") != expected:
        fail(where, f"MINE_UPSTREAM_NAME_FORMAT {fmt!r} does not name the pods ({expected}, ...)")
    if hpa and int(env.get("MINE_MAX_REPLICAS", 0)) < hpa["spec"].get("maxReplicas", 0):
        fail(where, "MINE_MAX_REPLICAS is below the HPA's maxReplicas: pods above it get no calls")
    if int(env.get("MINE_UPSTREAM_PORT", 0)) != int(flags.get("port", 50051)):
        fail(where, "MINE_UPSTREAM_PORT differs from mine-server's --port")
    ports = container_ports(router)
    listens = {int(p) for p in re.findall(r"listen\s+(\d+)", conf)}
    if set(ports.values()) != listens:
        fail(where, f"container ports {sorted(ports.values())} != nginx listen ports {sorted(listens)}")
    mounts = [m["mountPath"] for m in c.get("volumeMounts", [])]
    for path in re.findall(r"ssl_certificate(?:_key)?\s+(\S+);", conf):
        if not any(path.startswith(m + "/") for m in mounts):
            fail(where, f"{path} is not under a volume mount")
    read_timeout = re.search(r"grpc_read_timeout\s+(\S+);", conf)
    if not read_timeout or (seconds(read_timeout.group(1)) or 0) < 600:
        fail(where, "grpc_read_timeout under 10 minutes cuts quiet WatchEstimates streams")


# --------------------------------------------------------------------------
# Field-level schema check against the official Python client's models.

def load_models(folder):
    models = {}
    for path in pathlib.Path(folder).glob("*.py"):
        text = path.read_text()
        cls = re.search(r"^class (\w+)\(", text, re.M)
        types = re.search(r"^\s+openapi_types: ClassVar\[[^\n]*= \{(.*?)\}", text, re.S | re.M)
        attrs = re.search(r"^\s+attribute_map: ClassVar\[[^\n]*= \{(.*?)\}", text, re.S | re.M)
        if not (cls and types and attrs):
            continue
        t = dict(re.findall(r'"(\w+)":\s*"([^"]+)"', types.group(1)))
        a = dict(re.findall(r'"(\w+)":\s*"([^"]+)"', attrs.group(1)))
        # Field declarations: required unless typed Optional[...].
        required = set(re.findall(r"^    (\w+): (?!Optional\[|ClassVar\[)", text, re.M))
        models[cls.group(1)] = {a[k]: t[k] for k in t if k in a}, {a[k] for k in required if k in a}
    return models


def check_schema(models, typename, value, where):
    # bytes: base64 text in YAML (Secret data); datetime: RFC 3339 text.
    scalars = {"str": str, "int": int, "bool": bool, "float": (int, float), "bytes": str,
               "datetime": str}
    if typename in ("object", "Dict[str, object]"):
        return
    if typename in scalars:
        if not isinstance(value, scalars[typename]) or (typename == "int" and isinstance(value, bool)):
            fail(where, f"expected {typename}, got {value!r}")
        return
    m = re.fullmatch(r"List\[(.+)\]", typename)
    if m:
        if not isinstance(value, list):
            fail(where, f"expected a list, got {value!r}")
            return
        for i, item in enumerate(value):
            check_schema(models, m.group(1), item, f"{where}[{i}]")
        return
    m = re.fullmatch(r"Dict\[str, (.+)\]", typename)
    if m:
        if not isinstance(value, dict):
            fail(where, f"expected a mapping, got {value!r}")
            return
        for k, item in value.items():
            check_schema(models, m.group(1), item, f"{where}.{k}")
        return
    if typename not in models:
        fail(where, f"unknown type {typename} in the models")
        return
    fields, required = models[typename]
    if not isinstance(value, dict):
        fail(where, f"expected a {typename} mapping, got {value!r}")
        return
    for key, item in value.items():
        if key not in fields:
            fail(where, f"unknown field {key!r} in {typename}")
        else:
            check_schema(models, fields[key], item, f"{where}.{key}")
    for key in required - set(value):
        fail(where, f"missing required field {key!r} of {typename}")


def check_against_models(objects, folder):
    models = load_models(folder)
    if len(models) < 100:
        fail(folder, "does not look like kubernetes/client/models")
        return
    for path, obj in objects:
        group_version = obj.get("apiVersion", "").split("/")[-1]
        typename = group_version[0].upper() + group_version[1:] + obj.get("kind", "")
        check_schema(models, typename, obj, f"{path.name} {name_of(obj)}")
    print(f"validate: every field checked against {len(models)} Kubernetes API models")


# --------------------------------------------------------------------------
# compose.yaml, Prometheus and Grafana.

def check_prometheus_rules():
    metrics = exported_metrics()
    docs = load_all(DEPLOY / "prometheus-rules.yml")
    rules = [r for d in docs for g in d.get("groups", []) for r in g.get("rules", [])]
    if not rules:
        fail("prometheus-rules.yml", "no rules")
    for r in rules:
        if not r.get("alert") or not r.get("expr"):
            fail("prometheus-rules.yml", f"rule without alert or expr: {r}")
            continue
        for name in re.findall(r"\bmine_[a-z0-9_]+", r["expr"]):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name not in metrics and base not in metrics:
                fail("prometheus-rules.yml", f"{r['alert']}: {name} is not exported by mine-server")


def check_compose():
    where = "compose.yaml"
    docs = load_all(DEPLOY / "compose.yaml")
    if not docs:
        return
    services = docs[0].get("services", {})
    for name in ("mine-server", "prometheus", "grafana"):
        if name not in services:
            fail(where, f"no service {name}")
    named_volumes = set(docs[0].get("volumes", {}) or {})

    def host_path(source):
        return (DEPLOY / source).resolve()

    mounted = {}
    for name, svc in services.items():
        for v in svc.get("volumes", []):
            source, target = v.split(":")[:2]
            if source.startswith((".", "/")):
                if not host_path(source).exists():
                    fail(where, f"{name}: mounts {source}, which does not exist")
                mounted[(name, target)] = host_path(source)
            elif source not in named_volumes:
                fail(where, f"{name}: volume {source} is not declared under volumes:")
        for dep in svc.get("depends_on", {}):
            if dep not in services:
                fail(where, f"{name}: depends on unknown service {dep}")
    server = services.get("mine-server", {})
    build = server.get("build", {})
    if not (host_path(build.get("context", ".")) / build.get("dockerfile", "Dockerfile")).is_file():
        fail(where, "mine-server: build context/dockerfile does not name deploy/Dockerfile")
    if not any(":/var/lib/minestream" in v for v in server.get("volumes", [])):
        fail(where, "mine-server: the state directory is not on a volume")
    if "healthcheck" not in server or "mine-cli" not in " ".join(server["healthcheck"].get("test", [])):
        fail(where, "mine-server: no mine-cli health check")

    # Prometheus: its configuration scrapes mine-server and loads the rules it mounts.
    prom_conf = next((p for (s, t), p in mounted.items()
                      if s == "prometheus" and t.endswith("prometheus.yml")), None)
    if prom_conf is None:
        fail(where, "prometheus: no prometheus.yml mounted")
    else:
        conf = load_all(prom_conf)[0]
        targets = [t for sc in conf.get("scrape_configs", [])
                   for st in sc.get("static_configs", []) for t in st.get("targets", [])]
        if "mine-server:9464" not in targets:
            fail(prom_conf.name, "does not scrape mine-server:9464")
        if not any(sc.get("job_name") == "mine-server" for sc in conf.get("scrape_configs", [])):
            fail(prom_conf.name, "no job 'mine-server' (the rules' up{job=\"mine-server\"})")
        for rule_file in conf.get("rule_files", []):
            if ("prometheus", rule_file) not in mounted:
                fail(prom_conf.name, f"rule file {rule_file} is not mounted into the container")

    # Grafana: a Prometheus datasource and a dashboard provider whose folder holds the dashboard.
    grafana = {t: p for (s, t), p in mounted.items() if s == "grafana"}
    providers = [p for t, p in grafana.items() if "provisioning" in t]
    datasources = [d for p in providers for f in sorted(p.rglob("*.yaml")) if "datasources" in str(f)
                   for d in load_all(f)]
    if not any(ds.get("type") == "prometheus" and "prometheus:9090" in ds.get("url", "")
               for d in datasources for ds in d.get("datasources", [])):
        fail(where, "grafana: no provisioned Prometheus datasource at http://prometheus:9090")
    dash_providers = [d for p in providers for f in sorted(p.rglob("*.yaml")) if "dashboards" in str(f)
                      for d in load_all(f)]
    folders = [pr.get("options", {}).get("path") for d in dash_providers for pr in d.get("providers", [])]
    dashboard_mounted = [t for t, p in grafana.items() if p.name == "grafana-dashboard.json"]
    if not folders or not dashboard_mounted or not any(
            dashboard_mounted[0].startswith(f.rstrip("/") + "/") for f in folders if f):
        fail(where, "grafana: the dashboard file is not in a provisioned dashboards folder")
    try:
        dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
        variables = {v.get("name") for v in dashboard.get("templating", {}).get("list", [])}
        for panel in dashboard.get("panels", []):
            uid = panel.get("datasource", {}).get("uid", "")
            if uid.startswith("${") and uid[2:-1] not in variables:
                fail("grafana-dashboard.json", f"panel {panel.get('title')}: unknown variable {uid}")
    except (OSError, json.JSONDecodeError) as e:
        fail("grafana-dashboard.json", f"not valid JSON: {e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secrets", type=pathlib.Path)
    parser.add_argument("--k8s-models", type=pathlib.Path)
    args = parser.parse_args()

    files = sorted(K8S.glob("*.yaml"))
    objects = [(p, d) for p in files if p.name not in NOT_APPLIED for d in load_all(p)]
    secrets = [(args.secrets, d) for d in load_all(args.secrets)] if args.secrets else []
    dockerfile = (DEPLOY / "Dockerfile").read_text()

    check_objects(objects + secrets)
    check_kustomization(files)
    by_kind = check_references(objects, secrets)
    server = check_server(by_kind, dockerfile)
    if server:
        sts, flags = server
        hpa = check_hpa(by_kind, sts)
        check_router(by_kind, sts, flags, hpa)
    if args.k8s_models:
        check_against_models(objects + secrets, args.k8s_models)
    check_prometheus_rules()
    check_compose()

    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    if failures:
        return 1
    print(f"validate: {len(objects) + len(secrets)} Kubernetes objects, compose.yaml, "
          "Prometheus rules and Grafana provisioning: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
