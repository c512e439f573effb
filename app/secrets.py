"""API keys for remote model providers, kept only in the OS keychain (the one module that imports keyring)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import NoReturn, Protocol, runtime_checkable

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from tools.errors import ConfigError, DeskmateError

log = logging.getLogger(__name__)

SERVICE = "deskmate"
NAME_MAX = 64
_NAME = re.compile(rf"[A-Za-z0-9._-]{{1,{NAME_MAX}}}")
_REDACTED = "<redacted>"
_NOTHING = {"read": "Nothing was read.", "store": "Nothing was stored.", "delete": "Nothing was deleted."}
_PAST = {"read": "read", "store": "stored", "delete": "deleted"}
_WHAT_TO_DO = (
    "Deskmate stores API keys only in the OS keychain: on Linux start a Secret Service (GNOME Keyring or KWallet) "
    "in your session; on macOS and Windows the system keychain is used."
)


class KeychainError(DeskmateError):
    """The OS keychain failed or refused an operation on an API key."""


class KeychainUnavailable(ConfigError, KeychainError):
    """No usable OS keychain: keyring found no backend, or only ones that would not keep keys in the keychain."""


class KeychainLocked(KeychainError):
    """The OS keychain is locked and was not unlocked (for example the unlock prompt was dismissed)."""


@runtime_checkable
class SecretStore(Protocol):
    """Where Deskmate keeps API keys, by name (for example ``openai``)."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> bool: ...

    def backend_name(self) -> str: ...


def check_name(name: str) -> None:
    """Raise ConfigError unless ``name`` is 1-64 ASCII letters, digits, '.', '_' or '-'.

    The offending name is not echoed: a caller that swapped its arguments would otherwise print the key itself.
    """
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        if not isinstance(name, str):
            problem = f"it is a {type(name).__name__}, not text"
        elif not name:
            problem = "it is empty"
        elif len(name) > NAME_MAX:
            problem = f"it is {len(name)} characters long"
        else:
            problem = "it contains other characters"
        raise ConfigError(
            f"Invalid API key name ({problem}): a name is 1 to {NAME_MAX} ASCII letters, digits, '.', '_' or '-', "
            "for example 'openai'."
        )


def check_value(name: str, value: str) -> None:
    """Raise ConfigError when ``value`` is not text, empty or only whitespace; the message never contains it."""
    if not isinstance(value, str):
        raise ConfigError(f"The API key for '{name}' must be text, not {type(value).__name__}. Nothing was stored.")
    if not value.strip():
        raise ConfigError(f"Refusing to store an empty API key for '{name}'. Nothing was stored.")


class MemorySecretStore:
    """A SecretStore in a dict: for tests and UI tests, never for real keys. Validates like the keychain store."""

    def __init__(self, initial: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = {}
        for name, value in (initial or {}).items():
            self.set(name, value)

    def get(self, name: str) -> str | None:
        check_name(name)
        return self._values.get(name)

    def set(self, name: str, value: str) -> None:
        check_name(name)
        check_value(name, value)
        self._values[name] = value

    def delete(self, name: str) -> bool:
        check_name(name)
        return self._values.pop(name, None) is not None

    def backend_name(self) -> str:
        return "memory"

    def __repr__(self) -> str:
        return f"MemorySecretStore(names={sorted(self._values)!r})"


class KeyringSecretStore:
    """A SecretStore in the OS keychain through ``keyring``: service ``deskmate``, one entry per API key name.

    Refuses backends that would not keep the key in the OS keychain (keyring's fail and null backends, a chainer
    with nothing to chain, keyrings.alt's file and registry backends) with KeychainUnavailable, and translates
    keyring's errors into KeychainError subclasses. Secret values never appear in messages, logs or reprs.
    ``backend`` pins one keyring backend; by default the one keyring selects (``keyring.get_keyring()``) is used.
    """

    def __init__(self, service: str = SERVICE, *, backend: KeyringBackend | None = None) -> None:
        if not isinstance(service, str) or not service.strip():
            raise ConfigError("The keychain service name must be non-empty text.")
        self._service = service
        self._backend = backend

    @property
    def service(self) -> str:
        return self._service

    def get(self, name: str) -> str | None:
        check_name(name)
        backend = self._usable_backend(_NOTHING["read"])
        with _translated(backend, name, "read", None):
            value = backend.get_password(self._service, name)
        return value if value else None

    def set(self, name: str, value: str) -> None:
        check_name(name)
        check_value(name, value)
        backend = self._usable_backend(_NOTHING["store"])
        with _translated(backend, name, "store", value):
            backend.set_password(self._service, name, value)
        log.info("Stored the API key %r in the OS keychain (%s)", name, backend.name)

    def delete(self, name: str) -> bool:
        check_name(name)
        backend = self._usable_backend(_NOTHING["delete"])
        with _translated(backend, name, "delete", None):
            try:
                backend.delete_password(self._service, name)
            except keyring.errors.PasswordDeleteError:
                # Backends raise this when nothing is stored under the name; anything else is a real failure.
                if backend.get_password(self._service, name) is None:
                    return False
                raise
        log.info("Deleted the API key %r from the OS keychain (%s)", name, backend.name)
        return True

    def backend_name(self) -> str:
        """The keyring backend in use (for display); does not raise when there is none."""
        try:
            return self._usable_backend("").name
        except KeychainUnavailable:
            try:
                return (self._backend or keyring.get_keyring()).name
            except Exception:  # a display name must not fail; detection errors surface on use
                return "none"

    def ensure_available(self) -> None:
        """Raise KeychainUnavailable unless a usable OS keychain backend is active (touches no entries)."""
        self._usable_backend("")

    def __repr__(self) -> str:
        return f"KeyringSecretStore(service={self._service!r})"

    def _usable_backend(self, outcome: str) -> KeyringBackend:
        if self._backend is not None:
            backend = self._backend
        else:
            try:
                backend = keyring.get_keyring()
            except Exception as exc:  # a configured backend that fails to load raises anything
                why = f"it could not be loaded: {type(exc).__name__}: {exc}"
                raise KeychainUnavailable(_unavailable_message("as configured", why, outcome)) from exc
        if isinstance(backend, chainer.ChainerBackend):
            # The chainer writes to the first member that accepts a key; use the best acceptable member directly
            # so a key can never fall through to a file-based backend.
            members: list[KeyringBackend] = list(backend.backends)
            for member in members:
                if _refusal(member) is None:
                    return member
            why = "it has no backends to chain" if not members else "none of its backends is an OS keychain"
            raise KeychainUnavailable(_unavailable_message(backend.name, why, outcome))
        reason = _refusal(backend)
        if reason is not None:
            raise KeychainUnavailable(_unavailable_message(backend.name, reason, outcome))
        return backend


def _refusal(backend: KeyringBackend) -> str | None:
    """Why ``backend`` cannot hold Deskmate's keys, or None when it is an OS keychain (or a third-party one)."""
    module = type(backend).__module__
    if isinstance(backend, fail.Keyring):
        return "keyring found no OS keychain"
    if isinstance(backend, null.Keyring):
        return "the null backend discards keys"
    if isinstance(backend, chainer.ChainerBackend):
        return "a chainer inside a chainer"
    if module == "keyrings.alt" or module.startswith("keyrings.alt."):
        return "keyrings.alt backends keep keys in files or the registry, not in the OS keychain"
    if "plaintext" in type(backend).__name__.lower():
        return "it stores keys in plain text"
    return None


def _unavailable_message(backend: str, why: str, outcome: str) -> str:
    message = f"No OS keychain is available (keyring backend: {backend}; {why}). {_WHAT_TO_DO}"
    return f"{message} {outcome}" if outcome else message


def _redact(text: str, value: str | None) -> str:
    return text.replace(value, _REDACTED) if value else text


@contextmanager
def _translated(backend: KeyringBackend, name: str, action: str, value: str | None) -> Iterator[None]:
    """Turn whatever the keyring backend raises into a KeychainError subclass; ``value`` is redacted from messages."""
    try:
        yield
    except DeskmateError:
        raise
    except Exception as exc:  # the adapter boundary: D-Bus, Security framework and WinAPI errors
        _raise_translated(exc, backend, name, action, value)


def _raise_translated(exc: Exception, backend: KeyringBackend, name: str, action: str, value: str | None) -> NoReturn:
    reason = _redact(str(exc), value) or type(exc).__name__
    leaked = value is not None and value != "" and any(value in str(arg) for arg in (exc, *exc.args))
    nothing = _NOTHING[action]
    error: KeychainError
    if isinstance(exc, keyring.errors.NoKeyringError):
        # keyring's own text suggests keyrings.alt, which Deskmate refuses; say it plainly instead.
        error = KeychainUnavailable(_unavailable_message(backend.name, "keyring found no OS keychain", nothing))
    elif isinstance(exc, keyring.errors.InitError):
        error = KeychainUnavailable(_unavailable_message(backend.name, f"it could not be opened: {reason}", nothing))
    elif isinstance(exc, keyring.errors.KeyringLocked):
        error = KeychainLocked(
            f"The OS keychain ({backend.name}) is locked, so the API key '{name}' could not be {_PAST[action]}: "
            f"unlock it and retry. {nothing}"
        )
    elif isinstance(exc, keyring.errors.PasswordSetError):
        error = KeychainError(
            f"The OS keychain ({backend.name}) refused to store the API key '{name}': {reason}. {nothing}"
        )
    elif isinstance(exc, keyring.errors.PasswordDeleteError):
        error = KeychainError(
            f"The OS keychain ({backend.name}) could not delete the API key '{name}': {reason}. {nothing}"
        )
    else:
        error = KeychainError(
            f"The OS keychain ({backend.name}) failed to {action} the API key '{name}' "
            f"({type(exc).__name__}: {reason}). {nothing}"
        )
    if leaked:
        raise error from None
    raise error from exc
