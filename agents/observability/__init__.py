"""Observability: what a turn did and how long it took (telemetry, span trees, traces, statistics, OTLP export)."""
