"""Files Deskmate ships (tokenizer, templates, default config), read with importlib.resources."""
