"""Configuration: the one `agent.yaml`, its substitution, validation and redacted display."""

from alphatransformer.config.errors import ConfigError
from alphatransformer.config.loader import DEFAULT_CONFIG_PATH, load_config
from alphatransformer.config.schema import AppConfig, Environment

__all__ = ["DEFAULT_CONFIG_PATH", "AppConfig", "ConfigError", "Environment", "load_config"]
