"""Every code block in README.md is executed here.

- ``python`` blocks run in order in one namespace (as a reader pasting them into one session would); any
  ``test_*`` function they define is then called with perago's ``lakefs_repository`` fixture.
- ``bash`` blocks run line by line in a subprocess from the repository root, with two substitutions that keep
  them runnable here: ``.venv/bin/python`` is this interpreter, and the URLs of a "real" Conductor and lakeFS
  (``localhost:8080`` / ``localhost:8000``) point at emulators started by the test, with the emulator's lakeFS
  credentials. Lines that cannot run on this machine are checked instead: ``make test`` must be the Makefile's
  pytest target (running it here would recurse into this test), ``make demo`` runs the command its Makefile
  target runs (``python -m perago dev``), and ``docker compose`` lines must name services of
  docker-compose.yml (no container engine here; tests/product/test_compose.py checks the file itself).
- ``console`` blocks are terminal sessions: ``$`` lines run like bash lines, each followed by the output it must
  print. They run against emulators on which ``tests/history/scenario.py`` ran (a step that timed out, failed, then
  published), with the README's workflow id standing for the scenario's; outputs are compared with ids, commits,
  times and worker names masked. ``python -m tests.history.scenario`` prints a fresh session to paste.
- ``text`` blocks are diagrams, not code; the configuration table is compared with the settings model.
- The ``bash`` blocks of the Install section run in a copy of the checkout (what a build reads: ``pyproject.toml``,
  ``README.md``, ``perago/``), in fresh virtualenvs, exactly as written except for what keeps this machine offline
  and the test fast: ``python3 -m venv DIR`` is this interpreter's ``venv`` module (the same Python), plus one
  ``.pth`` line that makes this project's installed *dependencies* importable in DIR (a plain path, so the
  editable install of the checkout behind it is not); ``pip install`` gets ``--no-deps --no-build-isolation
  --no-index`` and ``pip wheel`` ``--no-build-isolation --no-index`` (no download, the venv's own setuptools
  builds). Everything else is real: the build of the wheel from the copy, its installation, the commands. Then,
  from a directory without the sources, every virtualenv the section created must import ``perago`` from its own
  site-packages, installed as the distribution ``perago-worker`` at the version in ``pyproject.toml``.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import types
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from perago import WorkspaceSpec, task
from perago.testing import TaskEnvironment
from perago.testing.conductor import ConductorEmulator
from tests.product.settings_env import table_rows

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
BLOCKS = [
    (m.group(1), m.group(2), README[: m.start()].count("\n") + 1)
    for m in re.finditer(r"^```(\w*)\n(.*?)^```$", README, flags=re.MULTILINE | re.DOTALL)
]
HEADINGS = [(m.start(), m.group(1)) for m in re.finditer(r"^## (.+)$", README, flags=re.MULTILINE)]


def section_of(line: int) -> str:
    offset = len("".join(README.splitlines(keepends=True)[:line]))
    return [title for start, title in HEADINGS if start < offset][-1]


INSTALL = [(body, line) for lang, body, line in BLOCKS if lang == "bash" and section_of(line) == "Install"]
BASH = [(body, line) for lang, body, line in BLOCKS if lang == "bash" and (body, line) not in INSTALL]
CONSOLE = [(body, line) for lang, body, line in BLOCKS if lang == "console"]
UUID = r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
MASKS = [
    (r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "<time>"),
    (r"\b\d\d:\d\d:\d\d\.\d{3}\b", "<time>"),
    (r"\b\d{8}T\d{6}Z\b", "<stamp>"),
    (UUID, "<id>"),
    (r"-s\d{10,}-p", "-s<scheduled>-p"),  # the scheduled time in an execution id
    (r"\b[0-9a-f]{64}\b", "<commit>"),
    (r"[\w.-]+-\d+-[0-9a-f]{6}\b", "<worker>"),  # perago's worker id: <host>-<pid>-<6 hex>
]
MAKEFILE = (ROOT / "Makefile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_block_is_python_bash_a_console_session_or_a_text_diagram():
    assert {lang for lang, _, _ in BLOCKS} == {"python", "bash", "console", "text"}
    assert [lang for lang, _, _ in BLOCKS].count("text") == 1
    assert all(body.startswith("$ ") for body, _ in CONSOLE)


def test_quick_start_is_make_demo_then_make_test():
    body, _ = BASH[0]
    assert [line.split("#")[0].strip() for line in body.splitlines()] == ["make demo", "make test"]
    assert re.search(r"^test: .*\n(?:#.*\n)*\t\$\(BIN\)/coverage run -m pytest", MAKEFILE, flags=re.MULTILINE)
    assert re.search(r"^demo: .*\n\t\$\(BIN\)/python -m perago dev$", MAKEFILE, flags=re.MULTILINE)
    assert "make test" in (ROOT / ".ci/run").read_text()


def test_python_blocks_run(lakefs_repository, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    for lang, body, line in BLOCKS:
        if lang == "python":
            exec(compile("\n" * (line) + body, str(ROOT / "README.md"), "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_") and callable(value)]
    assert tests, "the README's pytest example defines no test"
    for test in tests:
        test(lakefs_repository)


def test_configuration_table_lists_every_setting_with_its_env_and_default():
    table = README.split("<!-- settings-table:start -->")[1].split("<!-- settings-table:end -->")[0]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        assert len(cells) == 4 and cells[3], f"incomplete row: {line}"
        rows[cells[0]] = (cells[1], cells[2])
    assert rows == table_rows()


class Shell:
    """Runs README bash lines; ``export`` lines carry over, like in a terminal."""

    def __init__(self, conductor_url: str, lakefs) -> None:
        self.lakefs = lakefs
        endpoint = lakefs.endpoint.rstrip("/").removesuffix("/api/v1")
        self.subs = {"http://localhost:8080/api": conductor_url, "http://localhost:8000": endpoint}
        self.env = dict(os.environ)
        self.output = ""
        self.env.update(self._credentials())
        self.servers: list[subprocess.Popen[str]] = []
        self.printed: dict[str, str] = {}  # what the emulators started from the README printed: NAME -> value

    def _credentials(self) -> dict[str, str]:
        return {
            "LAKECTL_SERVER_ENDPOINT_URL": self.lakefs.endpoint,
            "LAKECTL_CREDENTIALS_ACCESS_KEY_ID": self.lakefs.access_key_id,
            "LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY": self.lakefs.secret_access_key,
        }

    def substitute(self, text: str) -> str:
        for real, emulated in self.subs.items():
            text = text.replace(real, emulated)
        return text

    def run_line(self, line: str) -> None:
        parts = re.match(r"^(.*?)(?:\s#(.*))?$", line)
        assert parts is not None
        command, comment = parts.group(1), parts.group(2) or ""
        if command.rstrip().endswith("&"):
            return self.serve(shlex.split(command.rstrip()[:-1]))
        words = shlex.split(self.substitute(command))
        if not words:
            return
        handler = {"make": self.make, "export": self.export, "docker": self.docker}.get(words[0], self.python)
        handler(words, comment)

    def make(self, words: list[str], comment: str) -> None:
        assert words[1:] in (["demo"], ["test"]), words
        if words[1] == "demo":
            self.python([".venv/bin/python", "-m", "perago", "dev", "--quiet-logs"], comment)

    def serve(self, words: list[str]) -> None:
        """``python -m perago.testing lakefs|conductor --port N &``: start that emulator for real (on a free port,
        ``localhost:N`` then naming it) and keep the ``export`` lines of the banner it prints."""
        assert words[:3] == [".venv/bin/python", "-m", "perago.testing"] and words[4] == "--port", words
        port, kind = words[5], words[3]
        server = subprocess.Popen(
            [sys.executable, "-m", "perago.testing", kind, "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self.servers.append(server)
        assert server.stdout is not None
        wanted = {"lakefs": 3, "conductor": 1}[kind]
        exports: dict[str, str] = {}
        while len(exports) < wanted:
            line = server.stdout.readline()
            assert line, f"the {kind} emulator ended before printing its export lines"
            found = re.match(r"^\s*export (\w+)=(\S+)$", line)
            if found:
                exports[found.group(1)] = found.group(2)
        url = exports.get("LAKECTL_SERVER_ENDPOINT_URL") or exports["CONDUCTOR_SERVER_URL"]
        suffix = "/api" if kind == "conductor" else ""
        self.subs[f"http://localhost:{port}{suffix}"] = url
        self.printed |= exports
        if kind == "lakefs":
            self.lakefs = types.SimpleNamespace(
                endpoint=url,
                access_key_id=exports["LAKECTL_CREDENTIALS_ACCESS_KEY_ID"],
                secret_access_key=exports["LAKECTL_CREDENTIALS_SECRET_ACCESS_KEY"],
            )
            self.env.update(self._credentials())

    def close(self) -> None:
        for server in self.servers:
            server.terminate()
            server.communicate(timeout=10)

    def export(self, words: list[str], comment: str) -> None:
        name, _, value = words[1].partition("=")
        if name in self.printed:  # the README shows the line an emulator it started printed: it must be that line
            assert self.printed[name] == value, (
                f"{name}: the README says {value}, the emulator printed {self.printed[name]}"
            )
        self.env[name] = value
        self.env.update(self._credentials())  # the emulator's credentials stand in for the stack's

    def docker(self, words: list[str], comment: str) -> None:
        assert words[:2] == ["docker", "compose"], words
        services = set(COMPOSE["services"])
        named = [w for w in words[3:] if not w.startswith("-")]
        assert set(named) <= services, named
        assert words[2] in {"up", "down", "logs"}, words

    def python(self, words: list[str], comment: str) -> None:
        assert words[0] == ".venv/bin/python", f"no handler for README command {words}"
        expected = 1 if "exit 1" in comment else 0
        process = subprocess.run(
            [sys.executable, *words[1:]], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=110
        )
        assert process.returncode == expected, f"{words}: {process.stdout}\n{process.stderr}"
        self.output = process.stdout


@pytest.mark.parametrize("index", range(len(BASH)), ids=[f"README.md:{line}" for _, line in BASH])
def test_bash_block_runs(index):
    from perago.testing.lakefs import LakeFSEmulator

    body, _ = BASH[index]
    with ConductorEmulator() as conductor, LakeFSEmulator() as lakefs:
        lakefs.create_repository("songs", default_branch="main")  # the janitor block names it
        shell = Shell(conductor.url, lakefs)
        try:
            for line in body.splitlines():
                shell.run_line(line)
        finally:
            shell.close()


class InstallShell:
    """Runs the Install section's lines in a copy of the checkout (see the module docstring for what is adapted)."""

    OFFLINE = {
        "install": ["--no-deps", "--no-build-isolation", "--no-index"],
        "wheel": ["--no-build-isolation", "--no-index"],
    }

    def __init__(self, checkout: Path) -> None:
        self.cwd = checkout
        self.venvs: list[Path] = []
        self.env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")

    def run_line(self, line: str) -> None:
        words = [
            w for word in shlex.split(line, comments=True) for w in sorted(glob.glob(word, root_dir=self.cwd)) or [word]
        ]
        if not words:
            return
        if words[:3] == ["python3", "-m", "venv"]:
            self.venv(self.cwd / words[3])
        elif words[0].endswith("/bin/pip"):
            self.run([words[0], words[1], *self.OFFLINE[words[1]], *words[2:]])
        else:
            assert words[0].endswith("/bin/python"), f"no handler for Install command {words}"
            self.run(words)

    def venv(self, target: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True, timeout=120)
        [site_packages] = target.glob("lib/python*/site-packages")
        (site_packages / "_perago_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        self.venvs.append(target)

    def run(self, words: list[str]) -> None:
        command = [str(self.cwd / words[0]), *words[1:]]
        process = subprocess.run(command, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=300)
        assert process.returncode == 0, f"{words}: {process.stdout}\n{process.stderr}"


@pytest.mark.slow
def test_install_section_installs_perago_worker_in_fresh_virtualenvs(tmp_path):
    assert INSTALL, "the README has no Install section with bash blocks"
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, checkout / name)
    shutil.copytree(ROOT / "perago", checkout / "perago", ignore=shutil.ignore_patterns("__pycache__"))
    shell = InstallShell(checkout)

    for body, _ in INSTALL:
        for line in body.splitlines():
            shell.run_line(line)

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "perago-worker"
    assert len(shell.venvs) == 2  # the checkout install and the wheel install
    probe = "import importlib.metadata as m, perago; print(perago.__file__); print(m.version('perago-worker'))"
    for venv in shell.venvs:
        python = venv / "bin/python"
        found = subprocess.run([python, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert found.returncode == 0, found.stderr
        location, version = found.stdout.split()
        assert Path(location).is_relative_to(venv) and "site-packages" in location
        assert version == project["version"]


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


class Nothing(BaseModel):
    pass


@task(workspace=WorkspaceSpec())
def write_relative(workspace: Path, params: Nothing) -> Nothing:
    Path("clean").mkdir(exist_ok=True)
    Path("clean/x.csv").write_text("lost")  # the mistake the README warns about
    return Nothing()


def test_task_section_says_relative_paths_escape_the_workspace_and_shows_the_right_way(tmp_path, monkeypatch):
    text = " ".join(_section("Writing a task").split())
    assert 'A relative path such as `Path("clean/x.csv")` is resolved against the worker process\'s current' in text
    assert "perago cannot detect such writes reliably" in text
    assert '`(workspace / "clean/x.csv").write_text(...)`' in text

    process_dir, branch = tmp_path / "process", tmp_path / "branch"
    process_dir.mkdir()
    branch.mkdir()
    monkeypatch.chdir(process_dir)
    run = TaskEnvironment(write_relative).run({}, directory=branch).assert_completed()

    assert (process_dir / "clean/x.csv").read_text() == "lost"  # beside the process, as the README says
    assert not (branch / "clean").exists() and not (run.changes and run.changes.added)  # nothing published


def masked(text: str) -> str:
    for pattern, placeholder in MASKS:
        text = re.sub(pattern, placeholder, text)
    return text.rstrip("\n")


def session(body: str) -> list[tuple[str, str]]:
    """A console block's ``(command, expected output)`` pairs."""
    steps = re.split(r"^\$ ", body, flags=re.MULTILINE)[1:]
    return [(step.split("\n", 1)[0], step.split("\n", 1)[1] if "\n" in step else "") for step in steps]


@pytest.mark.parametrize("index", range(len(CONSOLE)), ids=[f"README.md:{line}" for _, line in CONSOLE])
def test_console_session_prints_what_the_readme_shows(index, tmp_path):
    from perago.testing.conductor.clock import ManualClock
    from perago.testing.conductor.fixtures import ManualConductorEmulator
    from perago.testing.lakefs import LakeFSEmulator
    from tests.history.scenario import run_scenario

    body, _ = CONSOLE[index]
    with ManualConductorEmulator(clock=ManualClock(time.time())) as conductor, LakeFSEmulator() as lakefs:
        scenario = run_scenario(conductor, lakefs, tmp_path, lambda task_id: conductor.clock.advance(11))
        shell = Shell(conductor.url, lakefs)
        for command, expected in session(body):
            shell.subs |= dict.fromkeys(re.findall(UUID, command), scenario.workflow_id)
            shell.output = ""
            shell.run_line(command)
            assert masked(shell.output) == masked(expected), command
