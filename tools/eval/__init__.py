"""Evaluations of Deskmate's retrieval on public test collections."""
