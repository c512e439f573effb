"""Test support code: servers and helpers the tests start."""
