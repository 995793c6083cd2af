"""Build hook: compiles the C converter of DynamoDB JSON lines (``_dynamojson``) into the package.

Without a C compiler the package is built pure Python and ``ddbexport read`` converts every line
in Python (same output, slower); the build says so. ``DDBEXPORT_PURE_PYTHON=1`` skips the compiler.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/ddbexport/data/convert/_dynamojson.c")


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if os.environ.get("DDBEXPORT_PURE_PYTHON") == "1":
            return
        root = Path(self.root)
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        target = SOURCE.with_name("_dynamojson" + suffix)
        compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
        command = [
            *compiler,
            "-O2",
            "-shared",
            "-fPIC",
            "-Wall",
            f"-I{sysconfig.get_paths()['include']}",
            str(root / SOURCE),
            "-o",
            str(root / target),
        ]
        if sys.platform == "darwin":
            command[1:1] = ["-undefined", "dynamic_lookup"]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", None) or exc
            self.app.display_warning(
                f"ddbexport: C converter not built ({detail}); reading exports stays in Python"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["artifacts"].append(target.as_posix())
