"""Thin adapters between transports and bot/: parse, call one function, render the reply."""
