"""The guard: what keeps untrusted text and side effects in check (injection screening, redaction, the audit log)."""
