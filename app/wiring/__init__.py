"""The composition root: settings and paths in, ready objects out (index, models, traces, the agent session).

Qt-free and print-free: the command line and the desktop app both build their objects here. Each module is imported
on its own (``app.wiring.index`` for the index alone): the session pulls in LangGraph, which the index commands and
the desktop app's start-up must not pay for, so this package imports nothing.
"""
