"""pytest plugin (entry point ``perago``): fixtures for the emulators and the task harness.

Each subsystem adds its fixtures by importing them here.
"""
