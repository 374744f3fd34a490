"""genforge deploy: the generated Dockerfile and manifests pass every checker; each rule catches what it
names, with the file and the line; bad input is one line."""

import json
import subprocess
import sys

import pytest
import yaml

from genforge.core.errors import ConfigError
from genforge.deploy import DeployConfig, check_deploy, write_docker, write_k8s
from genforge.deploy.docker import dockerfile_text, server_args
from genforge.deploy.k8s import manifests


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy")
    config = DeployConfig()
    write_docker(config, root)
    write_k8s(config, root / "k8s")
    return root


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def _rules(report):
    return {(f.rule, f.file) for f in report.findings}


def test_generated_files_pass_hadolint_yamllint_schemas_and_policy(generated):
    report = check_deploy(generated)
    assert report.findings == []
    assert {"hadolint", "yamllint", "kubernetes-validate"} <= set(report.tools)
    assert "Dockerfile" in report.files and "k8s/deployment.yaml" in report.files


def test_dockerfile_is_multi_stage_pinned_non_root_with_json_entrypoint(generated):
    text = (generated / "Dockerfile").read_text()
    froms = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(froms) == 2 and all("@sha256:" in line for line in froms)
    assert "USER 10001:10001" in text and "curl" not in text
    entry = next(line for line in text.splitlines() if line.startswith("ENTRYPOINT "))
    assert json.loads(entry.split(" ", 1)[1]) == ["genforge", "serve"]
    cmd = next(line for line in text.splitlines() if line.startswith("CMD "))
    assert json.loads(cmd.split(" ", 1)[1]) == server_args(DeployConfig())
    assert (generated / ".dockerignore").read_text() == (generated / "Dockerfile.dockerignore").read_text()


def test_healthcheck_probe_is_valid_python_that_fails_when_nothing_listens():
    text = dockerfile_text(DeployConfig(port=1))
    line = next(line for line in text.splitlines() if line.strip().startswith('CMD ["python"'))
    argv = json.loads(line.strip()[len("CMD ") :])
    done = subprocess.run([sys.executable, *argv[1:]], capture_output=True, timeout=60)
    assert done.returncode != 0 and b"SyntaxError" not in done.stderr


def test_deployment_has_probes_limits_non_root_read_only_and_secret_keys():
    objects = manifests(DeployConfig(replicas=3, max_replicas=6))
    pod = objects["deployment.yaml"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert set(container["resources"]) == {"requests", "limits"}
    ctx = container["securityContext"]
    assert ctx["runAsNonRoot"] and ctx["readOnlyRootFilesystem"] and not ctx["allowPrivilegeEscalation"]
    assert pod["securityContext"]["runAsUser"] == 10001
    secret = next(v for v in pod["volumes"] if v["name"] == "api-keys")
    assert secret["secret"]["secretName"] == "genforge-api-keys"
    assert "--api-keys" in container["args"] and "--host" in container["args"]
    hpa = objects["hpa.yaml"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 6)


def test_a_root_container_fails_with_rule_file_and_line(generated, tmp_path):
    bad = _copy(generated, tmp_path / "bad")
    deployment = bad / "k8s" / "deployment.yaml"
    text = deployment.read_text()
    deployment.write_text(text.replace("runAsNonRoot: true", "runAsNonRoot: false"))
    with open(bad / "Dockerfile", "a") as handle:
        handle.write("USER root\n")
    report = check_deploy(bad)
    rules = _rules(report)
    assert ("GFK201", "k8s/deployment.yaml") in rules
    assert ("GFD102", "Dockerfile") in rules
    assert ("DL3002", "Dockerfile") in rules  # hadolint's own "last USER should not be root"
    finding = next(f for f in report.findings if f.rule == "GFK201")
    lines = deployment.read_text().splitlines()
    assert "runAsNonRoot: false" in lines[finding.line - 1]
    last = len((bad / "Dockerfile").read_text().splitlines())
    assert next(f for f in report.findings if f.rule == "GFD102").line == last


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "GFK203"),
        ("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "GFK204"),
        ("privileged: false", "privileged: true", "GFK205"),
        ("            memory: 2Gi\n", "", "GFK206"),
        ("runAsUser: 10001", "runAsUser: 0", "GFK202"),
        ("image: genforge:0.1.0", "image: genforge:latest", "GFK209"),
        ("containerPort: 8000", "containerPort: eight-thousand", "schema"),
        ("replicas: 2", "replicas: [2]", "schema"),
        ("  replicas: 2", "  replicas:   2", "colons"),
    ],
)
def test_each_manifest_rule_catches_its_fault(generated, tmp_path, old, new, rule):
    bad = _copy(generated, tmp_path / "bad")
    deployment = bad / "k8s" / "deployment.yaml"
    text = deployment.read_text()
    assert old in text
    deployment.write_text(text.replace(old, new))
    report = check_deploy(bad)
    assert (rule, "k8s/deployment.yaml") in _rules(report), report.findings


def test_liveness_probe_removed_and_plain_secret_in_env_are_caught(generated, tmp_path):
    bad = _copy(generated, tmp_path / "bad")
    deployment = bad / "k8s" / "deployment.yaml"
    doc = yaml.safe_load(deployment.read_text())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    del container["livenessProbe"]
    container["env"] = [{"name": "GENFORGE_API_KEY", "value": "sk-plain"}]
    deployment.write_text("---\n" + yaml.safe_dump(doc))
    rules = {f.rule for f in check_deploy(bad / "k8s").findings}
    assert {"GFK207", "GFK208"} <= rules


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("FROM python:3.11-slim@sha256:", "FROM python:3.11-slim #", "GFD101"),
        ('ENTRYPOINT ["genforge", "serve"]', "ENTRYPOINT genforge serve", "GFD106"),
        ("USER 10001:10001", "USER genforge", "GFD103"),
        ('CMD ["python", "-c"', 'CMD ["curl", "-f", "http://x"] #', "GFD105"),
    ],
)
def test_each_dockerfile_rule_catches_its_fault(generated, tmp_path, old, new, rule):
    bad = tmp_path / "Dockerfile"
    text = (generated / "Dockerfile").read_text()
    assert old in text
    bad.write_text(text.replace(old, new))
    assert rule in {f.rule for f in check_deploy(bad).findings}


def test_a_dockerfile_without_healthcheck_is_caught(generated, tmp_path):
    text = (generated / "Dockerfile").read_text()
    start = text.index("HEALTHCHECK")
    end = text.index("ENTRYPOINT")
    (tmp_path / "Dockerfile").write_text(text[:start] + text[end:])
    assert "GFD104" in {f.rule for f in check_deploy(tmp_path).findings}


def test_broken_yaml_is_a_finding_with_its_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("---\napiVersion: v1\nkind: Service\nmetadata: [unclosed\n")
    report = check_deploy(tmp_path)
    assert any(f.tool == "yamllint" and f.line >= 4 for f in report.findings)


@pytest.mark.parametrize(
    "values",
    [{"name": "Not_A_Name"}, {"cpu_limit": "two"}, {"runs": ["relative/run"]}, {"extras": "serve;rm"}],
)
def test_bad_config_values_are_one_config_error(values):
    with pytest.raises(ConfigError):
        DeployConfig.build(values)


def test_check_of_a_missing_or_empty_folder_is_one_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        check_deploy(tmp_path / "missing")
    with pytest.raises(ConfigError, match="no Dockerfile"):
        check_deploy(tmp_path)


def test_generation_is_deterministic(tmp_path):
    write_k8s(DeployConfig(), tmp_path / "a")
    write_k8s(DeployConfig(), tmp_path / "b")
    for name in ("deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "pvc.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
