"""Deskmate's brain: the turn (graph, runner, toolset, workflows) at the top, concerns in subpackages."""
