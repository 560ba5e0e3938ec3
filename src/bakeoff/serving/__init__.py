"""Shipping a bake-off's choice: promote (registry and aliases), serve (HTTP with a champion
and a challenger), the prediction log and feedback."""
