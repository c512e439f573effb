"""The desktop app (PySide6): main window, tray and quick-ask, index manager, settings. Qt lives only here."""
