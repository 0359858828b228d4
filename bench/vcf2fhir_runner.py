"""vcf2fhir 0.1.1, the peer ``bench.translate_vcf`` divides by, in a virtualenv of its own.

vcf2fhir pins fhirclient 3.2.0 and crashes on pandas >= 2 (``DataFrame.append`` is gone), so it
cannot share the project's environment: it gets ``bench/.cache/vcf2fhir-venv`` with
``vcf2fhir==0.1.1 'pandas<2' 'numpy<2'`` (``reference/fhir.md`` §4), built on first use. A
``.ready`` stamp holding the pinned requirements is written only once the install imports, so
an interrupted install is redone on the next run and a change of pins rebuilds nothing silently.

The conversion runs as a script of its own (:data:`CONVERT`), so that vcf2fhir pays the same
process start-up as the gateway command does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import BenchError, cache_dir

__all__ = ["CONVERT", "REQUIREMENTS", "convert_command", "ensure_venv"]

REQUIREMENTS = ("vcf2fhir==0.1.1", "pandas<2", "numpy<2")
# Germline is the class the issue asks for; vcf2fhir defaults to it too, but says so explicitly.
CONVERT = """\
import sys
import vcf2fhir
path, assembly, patient, out = sys.argv[1:5]
vcf2fhir.Converter(
    path, assembly, patient, has_tabix=True, genomic_source_class="germline"
).convert(out)
"""
_INSTALL_TIMEOUT = 900.0


def venv_dir() -> Path:
    return cache_dir() / "vcf2fhir-venv"


def ensure_venv() -> Path:
    """The interpreter of vcf2fhir's virtualenv, built when missing or incomplete.

    :raises BenchError: the virtualenv or the install failed (for example, no package index).
    """
    venv = venv_dir()
    python = venv / "bin" / "python"
    stamp = venv / ".ready"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if python.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return python
    print(f"building {venv.name} ({' '.join(REQUIREMENTS)})…", file=sys.stderr, flush=True)
    stamp.unlink(missing_ok=True)
    # The base interpreter, not the project's virtualenv: the new one must not see its packages.
    base = getattr(sys, "_base_executable", sys.executable)
    _step([base, "-m", "venv", "--clear", str(venv)], "create the virtualenv")
    _step([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], "pip install")
    _step([str(python), "-c", "import vcf2fhir"], "import vcf2fhir")
    stamp.write_text(wanted, encoding="utf-8")
    return python


def convert_command(python: Path, vcf: Path, assembly: str, patient: str, out: Path) -> list[str]:
    """The whole vcf2fhir conversion of ``vcf`` into ``out`` as one command line."""
    return [str(python), "-c", CONVERT, str(vcf), assembly, patient, str(out)]


def _step(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"vcf2fhir: could not {what}: {exc}") from exc
    if done.returncode:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise BenchError(f"vcf2fhir: could not {what} (exit {done.returncode}): {tail}")
