"""Data sets and model definitions for each implementation."""
