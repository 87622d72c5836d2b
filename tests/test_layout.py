"""The layout DESIGN requires: `queue/` never shadows the standard library."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cti", "callqueue", "agent_console", "tickets", "hotline_cli")


def test_queue_folder_is_not_a_package() -> None:
    assert (ROOT / "queue" / "callqueue" / "__init__.py").exists()
    assert not (ROOT / "queue" / "__init__.py").exists()


def _stdlib_queue_file(args: list[str]) -> str:
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_import_queue_is_stdlib_from_repo_root() -> None:
    stdlib = sysconfig.get_paths()["stdlib"]
    path = _stdlib_queue_file([sys.executable, "-c", "import queue; print(queue.__file__)"])
    assert path.startswith(stdlib), path


def test_import_queue_is_stdlib_under_python_m_pytest(tmp_path: Path) -> None:
    probe = ROOT / "tests" / "_probe_queue_test.py"
    probe.write_text(
        "import queue, sysconfig\n"
        "def test_probe():\n"
        "    assert queue.__file__.startswith(sysconfig.get_paths()['stdlib'])\n"
        "    import callqueue, cti, agent_console, tickets\n"
    )
    try:
        for cmd in ([sys.executable, "-m", "pytest"], [str(Path(sys.executable).parent / "pytest")]):
            out = subprocess.run([*cmd, "-q", "-p", "no:cacheprovider", str(probe)], cwd=ROOT,
                                 capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, out.stdout + out.stderr
    finally:
        probe.unlink()


def test_no_package_shadows_a_stdlib_module() -> None:
    clashes = [name for name in PACKAGES if name in sys.stdlib_module_names]
    assert clashes == []
    top = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert not top & set(sys.stdlib_module_names), top & set(sys.stdlib_module_names)


PRODUCT = ("agent_console", "cti", "queue", "tickets", "hotline_cli")


def test_no_product_module_over_400_lines_and_a_small_composition_root() -> None:
    """The structure rule: small modules (migrations are data, not modules to read), and
    agent_console/app.py only wires (about 200 lines at most)."""
    long = {str(p.relative_to(ROOT)): n for pkg in PRODUCT for p in (ROOT / pkg).rglob("*.py")
            if "migrations" not in p.parts and (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
    assert len((ROOT / "agent_console" / "app.py").read_text().splitlines()) <= 200
