"""Deskmate's brain: LangGraph graphs, providers and workflows (not built yet; see README "Status")."""
