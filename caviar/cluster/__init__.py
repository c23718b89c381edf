"""Connecting to, submitting to and launching Ray clusters; cluster templates as package data."""
