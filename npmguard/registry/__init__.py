"""Talking to npm registries as npm does: configuration, HTTP, packuments, tarballs."""
