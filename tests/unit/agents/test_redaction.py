"""Redaction: each secret shape is masked, PII only when asked, and ordinary prose and code pass through untouched."""

from __future__ import annotations

import pytest

from agents.guard.redaction import Finding, redact, redact_known, scrub

OPENAI = "sk-proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF"
SECRETS = {
    "openai key": (f"key: {OPENAI} end", "[redacted api key]", OPENAI),
    "test key": ("sk-test-" + "x1Y2z3" * 7, "[redacted api key]", "sk-test-"),
    "anthropic key": ("use sk-ant-api03-" + "Zx9_q" * 8, "[redacted api key]", "sk-ant-"),
    "github token": ("ghp_" + "a1B2c3D4e5" * 4, "[redacted api key]", "ghp_"),
    "github oauth": ("gho_" + "Q1w2E3r4T5" * 4, "[redacted api key]", "gho_"),
    "github pat": ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "[redacted api key]", "github_pat_"),
    "aws key": ("aws_access_key_id AKIAIOSFODNN7EXAMPLE", "[redacted api key]", "AKIAIOSFODNN7EXAMPLE"),
    "slack token": ("xoxb-1234567890-0987654321-AbCdEfGhIjKl", "[redacted api key]", "xoxb-"),
    "google key": ("AIzaSyA-1234567890abcdefghijklmnopqrstu", "[redacted api key]", "AIzaSy"),
    "jwt": ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "[redacted token]", "eyJ"),
    "bearer header": ("Authorization: Bearer 0123456789abcdefABCDEF", "Bearer [redacted token]", "0123456789abc"),
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_each_secret_shape_is_masked(name: str) -> None:
    text, label, fragment = SECRETS[name]
    result = redact(text)
    assert label in result.text and fragment not in result.text
    assert len(result.findings) == 1


def test_a_private_key_block_is_masked_whole_and_the_text_around_it_kept() -> None:
    text = ("before\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\nAAAAB3NzaC1yc2E\n"
            "-----END OPENSSH PRIVATE KEY-----\nafter")
    result = redact(text)
    assert result.text == "before\n[redacted private key]\nafter"
    assert result.findings == [Finding("private key", 7, text.index("\nafter"))]


@pytest.mark.parametrize("text, expected", [
    ("password=hunter2", "password=[redacted password]"),
    ("passwd: correcthorse\n", "passwd: [redacted password]\n"),
    ("DB_PASSWORD=s3cr3t!", "DB_PASSWORD=[redacted password]"),
    ("secret=abcd1234", "secret=[redacted secret]"),
    ("token=xyzw0", "token=[redacted secret]"),
    ('{"api_key": "abc", "user": "ann"}', '{"api_key": "[redacted secret]", "user": "ann"}'),
    ("client_secret = 'q w e'", "client_secret = '[redacted secret]'"),
])
def test_assignments_mask_the_value_and_keep_the_name(text: str, expected: str) -> None:
    assert redact(text).text == expected


def test_a_random_token_next_to_a_secret_word_is_masked() -> None:
    assert redact("the api token is 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c, keep it").text == (
        "the api token is [redacted secret], keep it")
    assert redact("Key: Zq81x9Kp2Lm4Nb6Vc8Xz0Qw3Er5Ty7Ui").text == "Key: [redacted secret]"


@pytest.mark.parametrize("text", [
    "The sky-blue car is parked outside; see task-123 and task-456 for details.",
    "Reset your password: click the link in the email we sent you.",
    "The token count is 5 and max_tokens=200; the secret ingredient is love.",
    "token = get_token()\napi_key = settings.api_key\nsecret = os.environ[\"SECRET\"]\npassword: string;",
    "def parse_token(text: str) -> Token:\n    return Token(text.strip())",
    "commit 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c merged the release branch",
    "use generate_token_v2_for_client_sessions; keys: build_2024_release_candidate_v3",
    "a task-management-system-for-small-teams and sk-this-is-a-very-long-css-class-name",
    "On 2024-01-15 at 192.168.100.200 version 1.2.3 served 10 000 000 people, order 1234567890123.",
])
def test_ordinary_prose_and_code_pass_through(text: str) -> None:
    assert redact(text, pii=True).text == text


def test_pii_is_masked_only_when_asked() -> None:
    text = ("Write to ann.lee@example.com or call +47 912 34 567 or (555) 123-4567; "
            "IBAN DE89 3704 0044 0532 0130 00, card 4111 1111 1111 1111.")
    assert redact(text).text == text
    masked = redact(text, pii=True)
    assert masked.text == ("Write to [redacted email] or call [redacted phone number] or [redacted phone number]; "
                           "IBAN [redacted iban], card [redacted card number].")
    assert masked.counts() == {"email": 1, "phone number": 2, "iban": 1, "card number": 1}


def test_card_and_iban_need_their_checksums() -> None:
    assert redact("card 4111 1111 1111 1112, IBAN DE89 3704 0044 0532 0130 01", pii=True).findings == []


def test_findings_point_into_the_original_text() -> None:
    text = f"a {OPENAI} b password=hunter2"
    result = redact(text)
    assert [text[f.start:f.end] for f in result.findings] == [OPENAI, "hunter2"]


def test_redaction_is_idempotent() -> None:
    once = redact(f"password=hunter2 {OPENAI} bob@example.com", pii=True).text
    assert redact(once, pii=True).text == once


def test_known_values_are_masked_wherever_they_occur() -> None:
    key = "opaque-key-Zq81"  # no known shape: only the exact value finds it
    result = redact_known(f"{key} and again{key}.", [key, ""])
    assert result.text == "[redacted secret] and again[redacted secret]."
    assert redact(f"{key}").text == key
    assert scrub(f"{key} {OPENAI}", known=[key]) == "[redacted secret] [redacted api key]"
