"""Conversations: threads on disk (the checkpointer, made safe to load) and their catalogue."""
