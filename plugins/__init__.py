"""The built-in reward plugins, one module per family.

Each module is registered through the ``grpo_rewards`` entry-point group in pyproject.toml, the
same way a third-party plugin is.
"""
