"""MemorySecretStore, name/value validation and KeyringSecretStore's error translation (fake backends, no D-Bus)."""

from __future__ import annotations

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import InitError, KeyringLocked, NoKeyringError, PasswordDeleteError, PasswordSetError

from app.secrets import (
    KeychainError,
    KeychainLocked,
    KeychainUnavailable,
    KeyringSecretStore,
    MemorySecretStore,
    SecretStore,
    check_name,
)
from tools.errors import ConfigError, DeskmateError

BAD_NAMES = ["", "a" * 65, "has space", "slash/name", "ünï", "new\nline", "trailing\n", "semi;colon", "@at"]
GOOD_NAMES = ["openai", "a" * 64, "x", "Open.AI_key-2", "0"]


# Fake backends keep keyring's default priority (which raises), so keyring never selects them on its own.
class DictKeyring(KeyringBackend):
    """An in-memory keyring backend that records calls; ``error`` makes every call raise it."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        if self.error is not None:
            raise self.error
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.error is not None:
            raise self.error
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.error is not None:
            raise self.error
        if self.values.pop((service, username), None) is None:
            raise PasswordDeleteError("No such password!")


class StuckDeleteKeyring(DictKeyring):
    """Refuses to delete an entry that exists."""

    def delete_password(self, service: str, username: str) -> None:
        raise PasswordDeleteError("permission denied")


class PlaintextKeyring(DictKeyring):
    __module__ = "keyrings.alt.file"


class EncryptedKeyring(DictKeyring):
    __module__ = "keyrings.alt.file"


class FakeChainer(chainer.ChainerBackend):
    def __init__(self, members: list[KeyringBackend]) -> None:
        super().__init__()
        self.members = members

    @property
    def backends(self) -> list[KeyringBackend]:  # type: ignore[override]
        return self.members


# --- MemorySecretStore -----------------------------------------------------------------------------------------------


def test_memory_round_trip_overwrite_and_delete() -> None:
    store = MemorySecretStore()
    assert isinstance(store, SecretStore)
    assert store.backend_name() == "memory"
    assert store.get("openai") is None
    store.set("openai", "sk-1")
    assert store.get("openai") == "sk-1"
    store.set("openai", "sk-2")
    assert store.get("openai") == "sk-2"
    assert store.delete("openai") is True
    assert store.get("openai") is None
    assert store.delete("openai") is False


def test_memory_initial_values_are_validated() -> None:
    assert MemorySecretStore({"openai": "sk-1"}).get("openai") == "sk-1"
    with pytest.raises(ConfigError):
        MemorySecretStore({"bad name": "sk-1"})
    with pytest.raises(ConfigError):
        MemorySecretStore({"openai": ""})


def test_reprs_never_show_values() -> None:
    store = MemorySecretStore({"openai": "sk-super-secret"})
    assert "sk-super-secret" not in repr(store)
    assert "openai" in repr(store)
    assert "sk-super-secret" not in repr(KeyringSecretStore(backend=DictKeyring()))


# --- validation ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused_everywhere(name: str) -> None:
    store: SecretStore
    for store in (MemorySecretStore(), KeyringSecretStore(backend=DictKeyring())):
        for method, args in ((store.get, (name,)), (store.set, (name, "v")), (store.delete, (name,))):
            with pytest.raises(ConfigError, match="Invalid API key name") as raised:
                method(*args)  # type: ignore[operator]
            assert "1 to 64 ASCII letters, digits" in str(raised.value)


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_names_are_accepted(name: str) -> None:
    check_name(name)
    store = MemorySecretStore()
    store.set(name, "v")
    assert store.get(name) == "v"


def test_the_offending_name_is_not_echoed() -> None:
    # A caller that swaps name and value must not print the key in the error.
    key = "sk-proj/Abc+def=="
    with pytest.raises(ConfigError) as raised:
        MemorySecretStore().set(key, "openai")
    assert key not in str(raised.value)
    assert "other characters" in str(raised.value)
    with pytest.raises(ConfigError, match="65 characters long"):
        check_name("k" * 65)
    with pytest.raises(ConfigError, match="it is empty"):
        check_name("")
    with pytest.raises(ConfigError, match="not text"):
        check_name(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", " ", "\t\n"])
def test_empty_values_are_refused(value: str) -> None:
    for store in (MemorySecretStore(), KeyringSecretStore(backend=DictKeyring())):
        with pytest.raises(ConfigError, match="Refusing to store an empty API key for 'openai'. Nothing was stored."):
            store.set("openai", value)
        assert store.get("openai") is None


def test_non_text_values_are_refused() -> None:
    with pytest.raises(ConfigError, match="must be text, not bytes"):
        MemorySecretStore().set("openai", b"sk-1")  # type: ignore[arg-type]


def test_service_name_must_not_be_empty() -> None:
    with pytest.raises(ConfigError, match="service name"):
        KeyringSecretStore("  ")


# --- KeyringSecretStore with fake backends ---------------------------------------------------------------------------


def test_keyring_store_round_trip_on_a_pinned_backend() -> None:
    backend = DictKeyring()
    store = KeyringSecretStore(backend=backend)
    assert store.service == "deskmate"
    store.set("openai", "sk-1")
    assert backend.values == {("deskmate", "openai"): "sk-1"}
    assert store.get("openai") == "sk-1"
    assert store.delete("openai") is True
    assert store.delete("openai") is False
    assert store.backend_name() == DictKeyring.name == "test secrets DictKeyring"


def test_a_delete_error_for_an_existing_entry_is_an_error() -> None:
    backend = StuckDeleteKeyring()
    backend.values[("deskmate", "openai")] = "sk-1"
    with pytest.raises(KeychainError, match="could not delete the API key 'openai': permission denied"):
        KeyringSecretStore(backend=backend).delete("openai")
    assert KeyringSecretStore(backend=StuckDeleteKeyring()).delete("openai") is False


@pytest.mark.parametrize(
    "backend, reason",
    [
        (fail.Keyring(), "keyring found no OS keychain"),
        (null.Keyring(), "null backend discards keys"),
        (PlaintextKeyring(), "keyrings.alt backends keep keys in files"),
        (EncryptedKeyring(), "keyrings.alt backends keep keys in files"),
        (FakeChainer([]), "it has no backends to chain"),
        (FakeChainer([null.Keyring(), PlaintextKeyring()]), "none of its backends is an OS keychain"),
    ],
    ids=["fail", "null", "plaintext", "encrypted-file", "empty-chainer", "chainer-of-refused"],
)
def test_backends_that_are_not_a_keychain_are_refused(backend: KeyringBackend, reason: str) -> None:
    store = KeyringSecretStore(backend=backend)
    with pytest.raises(KeychainUnavailable) as raised:
        store.set("openai", "sk-never-stored")
    message = str(raised.value)
    assert message.startswith(f"No OS keychain is available (keyring backend: {backend.name};")
    assert reason in message
    assert "on Linux start a Secret Service (GNOME Keyring or KWallet)" in message
    assert message.endswith("Nothing was stored.")
    assert "sk-never-stored" not in message
    assert isinstance(raised.value, ConfigError) and isinstance(raised.value, KeychainError)
    with pytest.raises(KeychainUnavailable, match="Nothing was read."):
        store.get("openai")
    with pytest.raises(KeychainUnavailable, match="Nothing was deleted."):
        store.delete("openai")
    with pytest.raises(KeychainUnavailable):
        store.ensure_available()
    assert store.backend_name() == backend.name
    assert not getattr(backend, "values", {})


def test_a_chainer_uses_its_best_keychain_member_only() -> None:
    plaintext, keychain = PlaintextKeyring(), DictKeyring()
    store = KeyringSecretStore(backend=FakeChainer([plaintext, null.Keyring(), keychain]))
    store.set("openai", "sk-1")
    assert keychain.values == {("deskmate", "openai"): "sk-1"}
    assert plaintext.values == {}
    assert store.backend_name() == keychain.name


@pytest.mark.parametrize(
    "error, expected, pattern",
    [
        (NoKeyringError("install keyrings.alt"), KeychainUnavailable, r"available .*found no OS keychain\)"),
        (InitError("Failed to create the collection"), KeychainUnavailable, r"could not be opened: Failed to create"),
        (KeyringLocked("Failed to unlock the collection!"), KeychainLocked, r"is locked, .*unlock it and retry"),
        (PasswordSetError("Can't store password"), KeychainError, r"refused to store the API key 'openai'"),
        (PasswordDeleteError("access denied"), KeychainError, r"could not delete the API key 'openai'"),
        (OSError("connection reset"), KeychainError, r"failed to store the API key 'openai' \(OSError: connection"),
    ],
    ids=["no-keyring", "init", "locked", "set", "delete", "other"],
)
def test_keyring_errors_become_deskmate_errors(error: Exception, expected: type[KeychainError], pattern: str) -> None:
    store = KeyringSecretStore(backend=DictKeyring(error))
    with pytest.raises(expected, match=pattern) as raised:
        if isinstance(error, PasswordDeleteError):
            store.delete("openai")
        else:
            store.set("openai", "sk-1")
    assert isinstance(raised.value, DeskmateError)
    assert raised.value.__cause__ is error


def test_a_value_in_a_backend_error_is_redacted_and_not_chained() -> None:
    store = KeyringSecretStore(backend=DictKeyring(PasswordSetError("cannot store 'sk-leaky-123' for you")))
    with pytest.raises(KeychainError) as raised:
        store.set("openai", "sk-leaky-123")
    assert "sk-leaky-123" not in str(raised.value)
    assert "<redacted>" in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_the_default_backend_comes_from_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring.core

    backend = DictKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    store = KeyringSecretStore()
    store.set("openai", "sk-1")
    assert backend.values == {("deskmate", "openai"): "sk-1"}


def test_a_backend_that_fails_to_load_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "no_such_module.Keyring")
    store = KeyringSecretStore()
    with pytest.raises(KeychainUnavailable, match=r"as configured; it could not be loaded: ModuleNotFoundError"):
        store.get("openai")
    assert store.backend_name() == "none"
