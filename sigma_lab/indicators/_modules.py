"""Imports every module that registers indicators, so the registry is complete."""
