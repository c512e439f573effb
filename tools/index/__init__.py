"""The local knowledge index: parse, chunk, embed and search the user's own files."""
