"""Builds libradi and the `radi` binary with CMake (system cmake, ninja if present) and
bundles both inside the Python package: radi/lib/libradi.so and radi/bin/radi.
Metadata lives in pyproject.toml; this file only adds the CMake step."""
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build import build
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parent


class Build(build):
    """Keeps setuptools' build tree out of build/, which developers use for CMake."""

    def initialize_options(self):
        super().initialize_options()
        self.build_base = "build-pip"


class BuildWithCMake(build_py):
    def run(self):
        super().run()
        build_temp = Path(self.get_finalized_command("build").build_temp).resolve() / "cmake"
        build_temp.mkdir(parents=True, exist_ok=True)
        cmake = shutil.which("cmake")
        if not cmake:
            raise RuntimeError("radi: cmake is required to build the C library (apt-get install cmake)")
        # The project's default build type (RelWithDebInfo, -O2 -g); RADI_BUILD_TYPE overrides.
        build_type = os.environ.get("RADI_BUILD_TYPE", "RelWithDebInfo")
        configure = [cmake, "-S", str(ROOT), "-B", str(build_temp), f"-DCMAKE_BUILD_TYPE={build_type}",
                     "-DRADI_BUILD_TESTS=OFF"]
        if shutil.which("ninja") and not (build_temp / "CMakeCache.txt").exists():
            configure += ["-G", "Ninja"]
        subprocess.check_call(configure)
        jobs = str(os.cpu_count() or 2)
        # Everything (tests are off): the target name "radi" is ambiguous in Ninja, where the
        # CLI executable's output file is also called radi.
        subprocess.check_call([cmake, "--build", str(build_temp), "--parallel", jobs])
        pkg = Path(self.build_lib) / "radi"
        (pkg / "lib").mkdir(parents=True, exist_ok=True)
        (pkg / "bin").mkdir(parents=True, exist_ok=True)
        # libradi.so is a symlink chain; the package holds one real file under that name.
        shutil.copyfile(os.path.realpath(build_temp / "libradi.so"), pkg / "lib" / "libradi.so")
        shutil.copyfile(build_temp / "radi", pkg / "bin" / "radi")
        os.chmod(pkg / "bin" / "radi", 0o755)


class BinaryDistribution(Distribution):
    """The wheel carries a native library, so it is platform-specific."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build": Build, "build_py": BuildWithCMake}, distclass=BinaryDistribution)
