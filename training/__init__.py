"""Offline pipeline: datasets, centroid fitting, evaluation, publishing.

Imports router, never the reverse.
"""
