"""Faces at Scale: helpers for the course notebooks."""
