"""Shared fixtures for both environments (Rasa env: tests/actions, tests/rasa; web env: tests/bot, tests/browser).

``rasa_stack`` (tests/support/stack.py) starts the real action server and Rasa server on loopback.
"""

pytest_plugins = ["tests.support.stack"]
