"""deploy/kubernetes and deploy/flux: valid against a current Kubernetes schema, consistent
kustomizations, and tied to the app: probe paths are its routes, the probe port is the one the
image's CMD serves on, every SAWMILL_* name is a Settings field, the Secret's keys are the ones
the Deployment reads. Rendering uses a small kustomize written here (checked against
``kubectl kustomize`` where that is installed); nothing depends on a cluster."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from fastapi.testclient import TestClient

from app.config import Settings
from app.web.main import create_app
from tests.deploy import ROOT, option, read_image

DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
FLUX = DEPLOY / "flux"
DOCS = ROOT / "docs" / "deploy.md"
BASE = KUBERNETES / "base"
POSTGRES = KUBERNETES / "postgres"
INGRESS = KUBERNETES / "components" / "ingress"
KUBERNETES_VERSION = kubernetes_validate.latest_version()  # the newest schemas it ships
KUSTOMIZE_KEYS = {"apiVersion", "kind", "namespace", "resources", "components", "patches", "images"}
FLUX_SOURCE = "source.toolkit.fluxcd.io/v1"
FLUX_KUSTOMIZE = "kustomize.toolkit.fluxcd.io/v1"
# Lists that a strategic merge patch merges item by item, by this key (the rest are replaced).
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath", "ports": "containerPort"}  # fmt: skip


# -- a small kustomize ------------------------------------------------------------------------------


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def kustomization_of(folder: Path) -> dict:
    (config,) = documents(folder / "kustomization.yaml")
    unknown = set(config) - KUSTOMIZE_KEYS
    assert not unknown, f"{folder}: the test's kustomize does not know {sorted(unknown)}"
    return config


def strategic_merge(base: object, patch: object, key: str | None = None) -> object:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = strategic_merge(base.get(name), value, name) if name in base else value
        return merged
    if isinstance(base, list) and isinstance(patch, list) and key in MERGE_KEYS:
        by = MERGE_KEYS[key]
        merged = copy.deepcopy(base)
        for item in patch:
            at = next((i for i, old in enumerate(merged) if old.get(by) == item.get(by)), None)
            if at is None:
                merged.append(copy.deepcopy(item))
            else:
                merged[at] = strategic_merge(merged[at], item)
        return merged
    return copy.deepcopy(patch)


def same_object(a: dict, b: dict) -> bool:
    return a["kind"] == b["kind"] and a["metadata"]["name"] == b["metadata"]["name"]


def apply_patch(objects: list[dict], patch: dict, source: str) -> list[dict]:
    targets = [o for o in objects if same_object(o, patch)]
    assert len(targets) == 1, f"{source}: the patch matches {len(targets)} objects, not one"
    if patch.get("$patch") == "delete":
        return [o for o in objects if o is not targets[0]]
    return [strategic_merge(o, patch) if o is targets[0] else o for o in objects]


def set_images(objects: list[dict], images: list[dict]) -> None:
    for pod in pod_specs(objects):
        for container in pod["containers"]:
            for image in images:
                if container["image"].partition(":")[0] == image["name"]:
                    tag = image.get("newTag") or container["image"].partition(":")[2]
                    container["image"] = f"{image.get('newName', image['name'])}:{tag}"


def render(folder: Path) -> list[dict]:
    """What ``kustomize build folder`` gives, for the features Sawmill's manifests use."""
    config = kustomization_of(folder)
    objects: list[dict] = []
    for entry in config.get("resources", []):
        path = folder / entry
        assert path.exists(), f"{folder / 'kustomization.yaml'} lists {entry}, which does not exist"
        objects += render(path) if path.is_dir() else documents(path)
    for entry in config.get("components", []):
        component = folder / entry
        assert kustomization_of(component)["kind"] == "Component", f"{entry} is not a kustomize Component"
        objects += render(component)
    for entry in config.get("patches", []):
        assert set(entry) == {"path"}, f"{folder}: only patches by path are used here, not {entry}"
        path = folder / entry["path"]
        assert path.is_file(), f"{folder / 'kustomization.yaml'} patches with {entry['path']}, which does not exist"
        for patch in documents(path):
            objects = apply_patch(objects, patch, str(path))
    set_images(objects, config.get("images", []))
    if "namespace" in config:
        for obj in objects:
            if obj["kind"] != "Namespace":
                obj["metadata"]["namespace"] = config["namespace"]
    return objects


def pod_specs(objects: list[dict]) -> Iterator[dict]:
    for obj in objects:
        if obj["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            yield obj["spec"]["template"]["spec"]


def with_component(tmp_path: Path, variant: Path, component: Path) -> Path:
    """An overlay of ``variant`` with ``component``, as an operator would write it."""
    overlay = tmp_path / f"{variant.name}-with-{component.name}"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [str(variant)], "components": [str(component)],
    }))  # fmt: skip
    return overlay


def one(objects: list[dict], kind: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind]
    return found


def container_of(objects: list[dict]) -> dict:
    (container,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container


VARIANTS = {"base": BASE, "postgres": POSTGRES}


@pytest.fixture(params=sorted(VARIANTS))
def variant(request) -> list[dict]:
    return render(VARIANTS[request.param])


# -- every document validates -----------------------------------------------------------------------


def yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def patch_files() -> set[Path]:
    folders = {p.parent for p in KUBERNETES.rglob("kustomization.yaml")}
    return {folder / e["path"] for folder in folders for e in kustomization_of(folder).get("patches", [])}


def is_flux(doc: dict) -> bool:
    return doc["apiVersion"].partition("/")[0].endswith(".toolkit.fluxcd.io")


def is_kustomize_config(doc: dict) -> bool:
    return doc["apiVersion"].startswith("kustomize.config.k8s.io/")


def test_a_current_kubernetes_schema_is_used() -> None:
    major, minor, *_ = (int(part) for part in KUBERNETES_VERSION.split("."))
    assert (major, minor) >= (1, 30), f"kubernetes-validate ships schemas up to {KUBERNETES_VERSION} only"


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_manifest_validates_against_kubernetes(path: Path) -> None:
    """Strict: an unknown or misspelt field fails too. Patches are validated once applied (below),
    kustomize's own files by rendering them, Flux's custom resources by their own test."""
    docs = documents(path)
    assert docs, f"{path} holds no document"
    for doc in docs:
        if path in patch_files() or is_kustomize_config(doc) or is_flux(doc):
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_every_rendered_variant_validates_and_has_what_it_needs(tmp_path: Path) -> None:
    renders = {name: render(folder) for name, folder in VARIANTS.items()}
    for name, folder in VARIANTS.items():
        renders[f"{name}+ingress"] = render(with_component(tmp_path, folder, INGRESS))
    for name, objects in renders.items():
        for obj in objects:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        assert all(o["metadata"].get("namespace") == "sawmill" for o in objects if o["kind"] != "Namespace"), name
    kinds = {name: sorted(o["kind"] for o in objects) for name, objects in renders.items()}
    assert kinds["base"] == ["ConfigMap", "Deployment", "Namespace", "PersistentVolumeClaim", "Service"]
    assert kinds["postgres"] == ["ConfigMap", "Deployment", "Namespace", "PodDisruptionBudget", "Service"]
    assert kinds["base+ingress"] == sorted([*kinds["base"], "Ingress"])


def test_every_file_under_deploy_kubernetes_is_used_except_the_secret_examples() -> None:
    """A manifest no kustomization lists is one that silently never gets applied."""
    used = {KUBERNETES / folder / "kustomization.yaml" for folder in ("base", "postgres", "components/ingress")}
    for kustomization in used.copy():
        config = kustomization_of(kustomization.parent)
        used |= {(kustomization.parent / e).resolve() for e in config.get("resources", [])}
        used |= {(kustomization.parent / e["path"]).resolve() for e in config.get("patches", [])}
    examples = set(KUBERNETES.rglob("secret.example.yaml"))
    assert examples == {BASE / "secret.example.yaml", POSTGRES / "secret.example.yaml"}
    assert set(KUBERNETES.rglob("*.yaml")) - examples - used == set()
    assert not examples & used, "a Secret example must never be applied"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl: the test's kustomize stands alone")
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_small_kustomize_renders_what_kubectl_kustomize_does(name: str) -> None:
    built = subprocess.run(["kubectl", "kustomize", str(VARIANTS[name])], capture_output=True, text=True, timeout=120)
    if built.returncode != 0 and "unknown command" in built.stderr:
        pytest.skip("this kubectl has no kustomize")
    assert built.returncode == 0, built.stderr
    assert canonical(list(yaml.safe_load_all(built.stdout))) == canonical(render(VARIANTS[name]))


def canonical(objects: list[dict]) -> list[str]:
    """Objects as sorted JSON, with merged lists in name order (kustomize puts patched-in items first)."""

    def tidy(value: object, key: str | None = None) -> object:
        if isinstance(value, dict):
            return {k: tidy(v, k) for k, v in value.items()}
        if isinstance(value, list):
            items = [tidy(v) for v in value]
            return sorted(items, key=lambda i: str(i.get(MERGE_KEYS[key]))) if key in MERGE_KEYS else items
        return value

    return sorted(json.dumps(tidy(o), sort_keys=True) for o in objects)


# -- Flux -------------------------------------------------------------------------------------------


def flux_objects() -> dict[str, dict]:
    """The Flux objects of deploy/flux (its Namespace aside)."""
    found = {}
    for path in FLUX.glob("*.yaml"):
        for doc in documents(path):
            if path.name == "namespace.yaml":
                continue
            assert is_flux(doc), f"{path}: {doc.get('kind')} is not a Flux object"
            assert path.name != "kustomization.yaml", "kustomize would read a file of that name as its own config"
            found[doc["kind"]] = doc
    return found


def test_the_flux_objects_are_well_formed_and_point_at_this_repository() -> None:
    flux = flux_objects()
    source, sync = flux["GitRepository"], flux["Kustomization"]
    assert source["apiVersion"] == FLUX_SOURCE and sync["apiVersion"] == FLUX_KUSTOMIZE
    for obj in (source, sync):
        assert obj["metadata"]["name"] and obj["metadata"]["namespace"] == "flux-system"
        assert re.fullmatch(r"(\d+[hms])+", obj["spec"]["interval"]), obj["spec"]["interval"]
    assert re.match(r"(https|ssh)://", source["spec"]["url"])
    assert set(source["spec"]["ref"]) <= {"branch", "tag", "semver", "commit", "name"}
    spec = sync["spec"]
    assert {"interval", "path", "prune", "sourceRef"} <= set(spec)
    assert spec["sourceRef"] == {"kind": "GitRepository", "name": source["metadata"]["name"]}
    assert spec["prune"] is True and spec["wait"] is True and spec["targetNamespace"] == "sawmill"
    assert (ROOT / spec["path"] / "kustomization.yaml").is_file(), f"{spec['path']} is not a kustomization here"


def test_what_the_flux_kustomization_sets_exists_in_what_it_applies() -> None:
    spec = flux_objects()["Kustomization"]["spec"]
    objects = render(ROOT / spec["path"])
    images = {c["image"].partition(":")[0] for pod in pod_specs(objects) for c in pod["containers"]}
    assert {i["name"] for i in spec.get("images", [])} <= images
    for entry in spec.get("patches", []):
        target = entry["target"]
        assert [o for o in objects if o["kind"] == target["kind"] and o["metadata"]["name"] == target["name"]], target
        patched = apply_patch(objects, yaml.safe_load(entry["patch"]), "the Flux Kustomization")
        for obj in patched:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


# -- tied to the app --------------------------------------------------------------------------------


def route_paths(app) -> set[str]:
    """The app's routes, as its OpenAPI document lists them (FastAPI's included routers keep
    their routes out of ``app.routes``)."""
    return set(app.openapi()["paths"])


def test_the_probes_ask_routes_the_app_answers_without_sign_in(variant, db_url, tmp_path) -> None:
    container = container_of(variant)
    probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes["livenessProbe"]["path"] == "/healthz" and probes["readinessProbe"]["path"] == "/readyz"
    settings = Settings(database_url=db_url, data_dir=tmp_path / "data", read_requires_signin=True)
    app = create_app(settings)
    routes = route_paths(app)
    with TestClient(app) as client:
        for probe in probes.values():
            assert probe["path"] in routes
            answer = client.get(probe["path"], follow_redirects=False)
            assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store", probe


def test_the_probe_port_is_the_one_the_image_serves_on(variant) -> None:
    image = read_image()
    served = option(image.cmd, "--port")
    container = container_of(variant)
    assert "command" not in container and "args" not in container, "the image's CMD is what runs"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        port = container[kind]["httpGet"]["port"]
        assert str(ports.get(port, port)) == served, kind
    assert [str(p) for p in ports.values()] == [served]
    assert image.expose in ([served], [f"{served}/tcp"])
    service = one(variant, "Service")
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)


def test_the_pod_runs_as_the_image_user_with_a_read_only_root(variant) -> None:
    image = read_image()
    uid, _, gid = image.user.partition(":")
    assert uid.isdigit(), "USER must be numeric, so runAsNonRoot can check it"
    pod = one(variant, "Deployment")["spec"]["template"]["spec"]
    context, container = pod["securityContext"], container_of(variant)
    assert context["runAsNonRoot"] is True and str(context["runAsUser"]) == uid and str(context["runAsGroup"]) == gid
    assert str(context["fsGroup"]) == gid and context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
    }  # fmt: skip
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert image.volumes == ["/data"] and "emptyDir" in volumes[mounts["/tmp"]]
    for key in ("HOME", "SAWMILL_DATA_DIR"):  # writable, though the root filesystem is not
        assert image.env[key] in mounts, key
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]) & set(container["resources"]["limits"])


def test_the_sqlite_variant_has_one_writer_and_the_postgres_one_two_replicas() -> None:
    base, postgres = one(render(BASE), "Deployment")["spec"], one(render(POSTGRES), "Deployment")["spec"]
    assert base["replicas"] == 1 and base["strategy"] == {"type": "Recreate"}
    base_data = {v["name"]: v for v in base["template"]["spec"]["volumes"]}["data"]
    claim = one(render(BASE), "PersistentVolumeClaim")
    assert base_data["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]

    assert postgres["replicas"] == 2 and postgres["strategy"]["type"] == "RollingUpdate"
    data = {v["name"]: v for v in postgres["template"]["spec"]["volumes"]}["data"]
    assert set(data) == {"name", "emptyDir"}  # each replica's own mirror: no ReadWriteMany volume
    (container,) = postgres["template"]["spec"]["containers"]
    url = {e["name"]: e for e in container["env"]}["SAWMILL_DATABASE_URL"]
    assert "secretKeyRef" in url["valueFrom"]


def sawmill_names(text: str) -> set[str]:
    return set(re.findall(r"\bSAWMILL_[A-Z0-9_]*[A-Z0-9]\b", text))


def test_every_sawmill_variable_named_in_the_deployment_is_a_setting() -> None:
    sources = [ROOT / "Dockerfile", DOCS, *yaml_files()]
    named = {name: path for path in sources for name in sawmill_names(path.read_text(encoding="utf-8"))}
    assert {"SAWMILL_REPO", "SAWMILL_DATA_DIR", "SAWMILL_WEBHOOK_SECRET", "SAWMILL_ADMIN_TOKEN_FILE"} <= set(named)
    fields = set(Settings.model_fields)
    unknown = {name: str(path.relative_to(ROOT)) for name, path in named.items()
               if name.removeprefix("SAWMILL_").lower() not in fields}  # fmt: skip
    assert not unknown, f"not Settings fields: {unknown}"


def test_the_settings_the_deployment_gives_are_accepted(variant, monkeypatch) -> None:
    """The literal values (image ENV, the ConfigMap, env values that are not files) start Sawmill."""
    container = container_of(variant)
    given = {k: v for k, v in read_image().env.items() if k.startswith("SAWMILL_")}
    given |= one(variant, "ConfigMap")["data"]
    given |= {e["name"]: e["value"] for e in container["env"] if "value" in e and not e["name"].endswith("_FILE")}
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.repo == one(variant, "ConfigMap")["data"]["SAWMILL_REPO"]


def test_the_secrets_the_deployment_reads_are_the_ones_the_examples_hold(variant) -> None:
    examples = {doc["metadata"]["name"]: doc for path in KUBERNETES.rglob("secret.example.yaml")
                for doc in documents(path)}  # fmt: skip
    pod = one(variant, "Deployment")["spec"]["template"]["spec"]
    container = container_of(variant)
    for env in container["env"]:
        if ref := env.get("valueFrom", {}).get("secretKeyRef"):
            assert ref["key"] in examples[ref["name"]]["stringData"], env["name"]
    secret_mounts = {
        m["mountPath"]: v["secret"]["secretName"]
        for m in container["volumeMounts"] for v in pod["volumes"] if v["name"] == m["name"] and "secret" in v
    }  # fmt: skip
    files = [e for e in container["env"] if e["name"].endswith("_FILE")]
    assert files
    for env in files:
        folder, _, key = env["value"].rpartition("/")
        assert key in examples[secret_mounts[folder]]["stringData"], env["name"]
    with pytest.raises(ValueError, match="SAWMILL_ADMIN_TOKEN"):  # a placeholder left in cannot become the admin's
        Settings(admin_token=examples["sawmill"]["stringData"]["admin-token"])


def test_service_links_cannot_override_a_setting(variant) -> None:
    """The kubelet gives every pod ``<SERVICE>_PORT=tcp://...`` for each Service in its namespace;
    for a Service named sawmill that is SAWMILL_PORT, which Sawmill would read as its port."""
    fields = set(Settings.model_fields)
    for service in (o for o in variant if o["kind"] == "Service"):
        prefix = service["metadata"]["name"].upper().replace("-", "_")
        injected = {f"{prefix}_SERVICE_HOST", f"{prefix}_SERVICE_PORT", f"{prefix}_PORT"}
        injected |= {f"{prefix}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}" for p in service["spec"]["ports"]}
        clash = {n for n in injected if n.startswith("SAWMILL_") and n.removeprefix("SAWMILL_").lower() in fields}
        if clash:
            assert one(variant, "Deployment")["spec"]["template"]["spec"]["enableServiceLinks"] is False, clash


# -- the Deploy page --------------------------------------------------------------------------------


def test_the_deploy_page_names_what_exists(db_url, tmp_path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    routes = route_paths(create_app(Settings(database_url=db_url, data_dir=tmp_path)))
    hooks = set(re.findall(r"/api/hooks/[a-z]+", text))
    assert hooks == {"/api/hooks/github", "/api/hooks/gitlab", "/api/hooks/gitea"} and hooks <= routes
    assert {"/readyz", "/healthz"} <= set(re.findall(r"/[a-z]+z\b", text)) <= routes
    for path in set(re.findall(r"\b(deploy/(?:kubernetes|flux)/[\w./-]*\w|tests/deploy/[\w.]+)", text)):
        assert (ROOT / path).exists(), f"docs/deploy.md names {path}, which does not exist"


def test_the_disruption_budget_lets_a_drain_evict_pods_that_are_not_ready() -> None:
    """With every pod unready (the database down), ``minAvailable: 1`` alone would refuse every
    eviction, and a node drain would hang until the database came back."""
    budget = one(render(POSTGRES), "PodDisruptionBudget")["spec"]
    assert budget["minAvailable"] == 1
    assert budget.get("unhealthyPodEvictionPolicy") == "AlwaysAllow"
    deployment = one(render(POSTGRES), "Deployment")["spec"]
    assert budget["selector"]["matchLabels"].items() <= deployment["template"]["metadata"]["labels"].items()


def test_the_folder_flux_applies_creates_the_namespace_its_secrets_need() -> None:
    """The folder holds deploy/flux and the user's Secrets (namespace sawmill). Flux dry-runs all of
    it, after applying its Namespaces: a namespace that only the child Kustomization creates would
    fail the Secret's dry run, and nothing would be applied. One Kustomization owns the namespace."""
    folder = [doc for path in sorted(FLUX.glob("*.yaml")) for doc in documents(path)]
    secrets = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "sawmill"}}
               for name in ("sawmill", "sawmill-database")]  # fmt: skip
    created = {"flux-system"} | {o["metadata"]["name"] for o in folder if o["kind"] == "Namespace"}
    for obj in [*folder, *secrets]:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] in created, f"{obj['kind']} {obj['metadata']['name']}"

    (namespace,) = [o for o in folder if o["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"] == one(render(BASE), "Namespace")["metadata"]["labels"]
    assert namespace["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"] == "disabled"
    kubernetes_validate.validate(namespace, KUBERNETES_VERSION, strict=True)

    spec = flux_objects()["Kustomization"]["spec"]
    assert namespace["metadata"]["name"] == spec["targetNamespace"]
    for variant in (BASE, POSTGRES):
        objects = render(variant)
        for entry in spec.get("patches", []):
            objects = apply_patch(objects, yaml.safe_load(entry["patch"]), "the Flux Kustomization")
        assert "Namespace" not in {o["kind"] for o in objects}, f"{variant}: the child would own the namespace too"
