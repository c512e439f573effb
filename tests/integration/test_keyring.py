"""KeyringSecretStore against a real Secret Service: a private D-Bus session bus with an unlocked GNOME Keyring.

Nothing touches the user's keychain: the bus, the keyring daemon, HOME and the XDG folders all live in a temporary
folder, and the test process only sees the private bus (DBUS_SESSION_BUS_ADDRESS) while this module runs.
Needs the Debian packages ``dbus`` and ``gnome-keyring`` (``packaging/ci-system-deps.sh`` installs them); set
DESKMATE_SKIP_KEYCHAIN_TESTS=1 to skip the tests that need them.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import keyring
import keyring.core
import pytest
from keyring.backends import SecretService, fail

from app.secrets import (
    KeychainError,
    KeychainLocked,
    KeychainUnavailable,
    KeyringSecretStore,
    SecretStore,
)
from tools.errors import ConfigError, DeskmateError

SERVICE = "deskmate-test"
SECRETS_BUS_NAME = "org.freedesktop.secrets"
# Program -> the Debian package that provides it.
PROGRAMS = {"dbus-daemon": "dbus", "gnome-keyring-daemon": "gnome-keyring"}
SKIP_VARIABLE = "DESKMATE_SKIP_KEYCHAIN_TESTS"
START_TIMEOUT = 15.0
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@dataclass
class PrivateSecretService:
    """A running private Secret Service: its bus address and the folder everything lives in."""

    address: str
    root: Path


def _require_programs() -> None:
    """Fail (or skip, when DESKMATE_SKIP_KEYCHAIN_TESTS=1) when this machine cannot run a Secret Service."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: skipping the tests against a real Secret Service")
    if not sys.platform.startswith("linux"):
        pytest.skip("the Secret Service (D-Bus + GNOME Keyring) tests run on Linux only")
    missing = sorted({package for program, package in PROGRAMS.items() if shutil.which(program) is None})
    if missing:
        pytest.fail(
            f"The keychain tests need a real Secret Service, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed. Install the Debian packages with "
            f"`sudo apt-get install -y {' '.join(PROGRAMS.values())}` (or run packaging/ci-system-deps.sh), "
            f"or set {SKIP_VARIABLE}=1 to skip these tests.",
            pytrace=False,
        )


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def _log_tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-2000:]
    except OSError:
        return ""


def _name_has_owner(address: str, name: str) -> bool:
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus")
    with open_dbus_connection(bus=address) as connection:
        reply = connection.send_and_get_reply(new_method_call(bus, "NameHasOwner", "s", (name,)), timeout=5)
    return bool(reply.body[0])


@contextmanager
def running_secret_service(root: Path) -> Iterator[PrivateSecretService]:
    """Start a private D-Bus session bus and an unlocked GNOME Keyring (secrets component only) under ``root``."""
    home = root / "home"
    runtime = root / "run"
    home.mkdir(parents=True)
    runtime.mkdir(mode=0o700)
    env = {
        key: value
        for key, value in os.environ.items()
        # No way back to the user's session, their display (unlock prompts) or their keyring.
        if key not in {"DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL"}
    }
    env.update(
        HOME=str(home),
        XDG_RUNTIME_DIR=str(runtime),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    socket_dir = runtime
    short_dir: str | None = None
    if len(str(runtime / "bus")) > 100:  # sun_path holds 108 bytes
        short_dir = tempfile.mkdtemp(prefix="dm-bus-")
        socket_dir = Path(short_dir)
    # A bus configuration of our own: no dependency on the distribution's session.conf, and no service directories,
    # so nothing on this bus is activatable (an unlock prompt cannot start, it fails as if dismissed).
    config = root / "bus.conf"
    config.write_text(BUS_CONFIG.format(socket=escape(str(socket_dir / "bus"))))
    bus_log = root / "dbus-daemon.log"
    keyring_log = root / "gnome-keyring-daemon.log"
    processes: list[subprocess.Popen[Any]] = []
    try:
        with bus_log.open("wb") as log:
            bus = subprocess.Popen(
                ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile", "--print-address=1"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, env=env, text=True,
            )  # fmt: skip
        processes.append(bus)
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        if not address:
            pytest.fail(f"dbus-daemon did not start:\n{_log_tail(bus_log)}", pytrace=False)
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        with keyring_log.open("wb") as log:
            daemon = subprocess.Popen(
                ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                stdin=subprocess.PIPE, stdout=log, stderr=log, env=env,
            )  # fmt: skip
        processes.append(daemon)
        assert daemon.stdin is not None
        # --unlock reads the login keyring's password from stdin (and creates that keyring, unlocked).
        daemon.stdin.write(b"deskmate-test-password")
        daemon.stdin.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not _name_has_owner(address, SECRETS_BUS_NAME):
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"gnome-keyring-daemon did not provide {SECRETS_BUS_NAME} on the private bus "
                    f"(exit status {daemon.poll()}):\n{_log_tail(keyring_log)}",
                    pytrace=False,
                )
            time.sleep(0.05)
        yield PrivateSecretService(address=address, root=root)
    finally:
        for process in reversed(processes):
            _stop(process)
        if short_dir is not None:
            shutil.rmtree(short_dir, ignore_errors=True)


@contextmanager
def secret_service_backend(address: str) -> Iterator[None]:
    """Point this process at ``address`` and make keyring use its Secret Service; restore both afterwards."""
    previous = keyring.core._keyring_backend  # the private slot, so an undetected backend stays undetected
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        patch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
        keyring.set_keyring(SecretService.Keyring())
        try:
            yield
        finally:
            keyring.core._keyring_backend = previous


@pytest.fixture(scope="module")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateSecretService]:
    """One private, unlocked Secret Service for the module, used by keyring's SecretService backend."""
    _require_programs()
    with running_secret_service(tmp_path_factory.mktemp("keychain")) as service:
        with secret_service_backend(service.address):
            yield service


@pytest.fixture
def store(secret_service: PrivateSecretService) -> Iterator[KeyringSecretStore]:
    store = KeyringSecretStore(SERVICE)
    yield store
    for name in ("openai", "anthropic", "other", "gone"):
        store.delete(name)


def _items(service: str, name: str) -> list[bytes]:
    """The secrets stored for (service, name), read straight from the Secret Service rather than through keyring."""
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        return [item.get_secret() for item in collection.search_items({"service": service, "username": name})]
    finally:
        connection.close()


def test_round_trip_lands_in_the_secret_service(store: KeyringSecretStore) -> None:
    assert isinstance(store, SecretStore)
    assert store.backend_name() == "SecretService Keyring"
    assert store.get("openai") is None
    store.set("openai", "sk-test-1234")
    assert store.get("openai") == "sk-test-1234"
    assert _items(SERVICE, "openai") == [b"sk-test-1234"]
    assert store.delete("openai") is True
    assert store.get("openai") is None
    assert _items(SERVICE, "openai") == []


def test_overwrite_replaces_the_single_entry(store: KeyringSecretStore) -> None:
    store.set("anthropic", "first-key")
    store.set("anthropic", "second-key")
    assert store.get("anthropic") == "second-key"
    assert _items(SERVICE, "anthropic") == [b"second-key"]


def test_names_and_services_are_separate(store: KeyringSecretStore) -> None:
    other_service = KeyringSecretStore(SERVICE + "-other")
    store.set("openai", "key-a")
    store.set("other", "key-b")
    assert store.get("openai") == "key-a"
    assert store.get("other") == "key-b"
    assert other_service.get("openai") is None
    assert other_service.delete("openai") is False
    assert store.get("openai") == "key-a"


def test_delete_of_a_missing_name_returns_false(store: KeyringSecretStore) -> None:
    assert store.delete("gone") is False
    store.set("gone", "value")
    assert store.delete("gone") is True
    assert store.delete("gone") is False


def test_unicode_and_long_values_survive(store: KeyringSecretStore) -> None:
    value = "sk-ünïcødé-" + "x" * 4000
    store.set("openai", value)
    assert store.get("openai") == value


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "slash/name", "ünï", "new\nline", "tab\t"])
def test_invalid_names_are_refused_before_the_keychain(store: KeyringSecretStore, name: str) -> None:
    with pytest.raises(ConfigError, match="Invalid API key name"):
        store.set(name, "value")
    with pytest.raises(ConfigError, match="Invalid API key name"):
        store.get(name)
    with pytest.raises(ConfigError, match="Invalid API key name"):
        store.delete(name)


@pytest.mark.parametrize("value", ["", "   ", "\n"])
def test_empty_values_are_refused(store: KeyringSecretStore, value: str) -> None:
    with pytest.raises(ConfigError, match="empty API key for 'openai'. Nothing was stored"):
        store.set("openai", value)
    assert store.get("openai") is None


def test_a_name_of_64_characters_is_fine(store: KeyringSecretStore) -> None:
    name = "n" * 64
    try:
        store.set(name, "value")
        assert store.get(name) == "value"
    finally:
        assert store.delete(name) is True


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_locked_keychain_says_unlock_and_retry(tmp_path: Path) -> None:
    # A keychain of its own: once locked, it could only be unlocked through a prompt.
    import secretstorage

    _require_programs()
    with running_secret_service(tmp_path / "locked") as service, secret_service_backend(service.address):
        store = KeyringSecretStore(SERVICE)
        store.set("openai", "sk-locked-secret")
        connection = secretstorage.dbus_init()
        try:
            secretstorage.get_default_collection(connection).lock()
        finally:
            connection.close()
        # No display and no prompter: the unlock prompt fails, as if the user dismissed it.
        with pytest.raises(KeychainLocked, match="unlock it and retry") as locked:
            store.get("openai")
        message = str(locked.value)
        assert isinstance(locked.value, KeychainError)
        assert "sk-locked-secret" not in message
        with pytest.raises(KeychainLocked, match="Nothing was stored"):
            store.set("openai", "sk-new-secret")
        # keyring leaves the D-Bus connection of a failed unlock open; collect it here, under this test's filter.
        del locked
        gc.collect()


def test_fail_backend_raises_keychain_unavailable() -> None:
    # No D-Bus needed: keyring's fail backend is what it selects when there is no keychain at all.
    previous = keyring.core._keyring_backend
    keyring.set_keyring(fail.Keyring())
    try:
        store = KeyringSecretStore(SERVICE)
        for call in (lambda: store.set("openai", "sk-never-stored"), lambda: store.get("openai"),
                     lambda: store.delete("openai"), store.ensure_available):  # fmt: skip
            with pytest.raises(KeychainUnavailable) as raised:
                call()
            message = str(raised.value)
            assert "No OS keychain is available (keyring backend: fail Keyring" in message
            assert "GNOME Keyring or KWallet" in message
            assert "sk-never-stored" not in message
            assert isinstance(raised.value, ConfigError) and isinstance(raised.value, DeskmateError)
        with pytest.raises(KeychainUnavailable, match="Nothing was stored"):
            store.set("openai", "sk-never-stored")
        assert store.backend_name() == "fail Keyring"
    finally:
        keyring.core._keyring_backend = previous


# -- the command line, as a user runs it: `deskmate keys set` into the keychain, and a provider that uses the key --


def _deskmate(
    service: PrivateSecretService, home: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    from tests.conftest import REPO

    env = {
        **os.environ,
        "DESKMATE_HOME": str(home),
        "PYTHONPATH": str(REPO),
        "DBUS_SESSION_BUS_ADDRESS": service.address,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
    }
    return subprocess.run([sys.executable, "-m", "app", *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=120, cwd=REPO)


def test_cli_keys_set_and_delete_use_the_keychain(secret_service: PrivateSecretService, tmp_path: Path) -> None:
    secret = "sk-cli-0123456789"
    stored = _deskmate(secret_service, tmp_path, "keys", "set", "cli-provider", stdin=secret + "\n")
    assert stored.returncode == 0, stored.stderr
    assert secret not in stored.stdout + stored.stderr
    assert KeyringSecretStore().get("cli-provider") == secret
    assert not any(secret in p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())

    deleted = _deskmate(secret_service, tmp_path, "keys", "delete", "cli-provider")
    assert deleted.returncode == 0, deleted.stderr
    assert KeyringSecretStore().get("cli-provider") is None
    again = _deskmate(secret_service, tmp_path, "keys", "delete", "cli-provider")
    assert again.returncode == 1 and "no key named 'cli-provider'" in again.stderr


def test_cli_refuses_an_empty_key(secret_service: PrivateSecretService, tmp_path: Path) -> None:
    result = _deskmate(secret_service, tmp_path, "keys", "set", "empty", stdin="\n")
    assert result.returncode == 1 and "nothing was stored" in result.stderr


def test_a_remote_provider_sends_the_key_from_the_keychain(
    secret_service: PrivateSecretService, tmp_path: Path
) -> None:
    from tests.support.openai_server import OpenAIServer

    secret = "sk-remote-abcdef"
    with OpenAIServer(model="m1") as server:
        server.enqueue_text("Paris is the capital.")
        added = _deskmate(secret_service, tmp_path, "providers", "add", "mysrv", "--base-url", server.base_url,
                          "--model", "m1")
        assert added.returncode == 0, added.stderr
        assert _deskmate(secret_service, tmp_path, "keys", "set", "mysrv", stdin=secret).returncode == 0
        result = _deskmate(secret_service, tmp_path, "-v", "generate", "Capital of France?", "--model", "mysrv/m1",
                           "--json")
        assert result.returncode == 0, result.stderr
        assert "Paris" in result.stdout
        assert secret not in result.stdout + result.stderr  # not even in debug logging
        assert server.chat_requests[-1].authorization == f"Bearer {secret}"
    settings_files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert settings_files and not any(secret in p.read_text(errors="replace") for p in settings_files)
    KeyringSecretStore().delete("mysrv")
