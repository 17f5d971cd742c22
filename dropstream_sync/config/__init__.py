"""Configuration: YAML files -> the desired state, with every problem reported at once.

load(paths) -> LoadResult(desired, warnings, files)      raises ConfigError
load_text(text, name) -> DesiredState                    raises ConfigError
check(paths) -> CheckResult(warnings, files, counts)      raises ConfigError (what load checks)
"""

from dropstream_sync.config.loader import CheckResult, LoadResult, load_text
from dropstream_sync.config.loader import check_paths as check
from dropstream_sync.config.loader import load_paths as load

__all__ = ["CheckResult", "LoadResult", "check", "load", "load_text"]
