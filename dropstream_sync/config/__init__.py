"""Configuration: YAML files -> the desired state, with every problem reported at once.

load(paths) -> LoadResult(desired, warnings, files)      raises ConfigError
load_text(text, name) -> DesiredState                    raises ConfigError
"""

from dropstream_sync.config.loader import LoadResult, load_text
from dropstream_sync.config.loader import load_paths as load

__all__ = ["LoadResult", "load", "load_text"]
