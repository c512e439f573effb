"""The ``audit`` command: the audit log of side effects (agents/guard/audit.py) as a table or as JSON."""

from __future__ import annotations

import argparse

from agents.guard.audit import AuditLog
from app.console import emit, out
from app.settings import AppSettings, Paths


def audit_log(paths: Paths) -> AuditLog:
    """The audit log of this Deskmate home (the agent appends to it; this command only reads)."""
    return AuditLog(paths.data_dir / "audit.jsonl")


def run_audit(args: argparse.Namespace, settings: AppSettings, paths: Paths) -> int:
    entries = audit_log(paths).read(args.limit)
    if args.json:
        emit([e.as_dict() for e in entries])
        return 0
    if not entries:
        out.print("no side effects recorded yet: notes written, files or addresses opened, facts remembered "
                  "are listed here, allowed or not")
    for e in entries:
        arguments = ", ".join(f"{k}={str(v)[:60]!r}" for k, v in e.arguments.items())
        out.print(f"{e.time}  {e.decision:<8} by {e.decided_by:<6}  {e.tool}({arguments})  thread {e.thread or '-'}")
        out.print(f"    {e.reason}")
    return 0
