"""Outside Python: the Node.js service and the C client run the fixtures' test-case directories.

The test-case directories are written once per run with ``convert --emit-test-data``. The Node
suite needs ``node`` and ``npm`` (``npm ci`` of examples/node runs once per test session); the C
client needs ``gcc`` and the ONNX Runtime C headers, fetched from Debian's libonnxruntime-dev by
examples/c/fetch-headers.sh (or found in $JIT2ONNX_ORT_INCLUDE). Without them the tests are
skipped, with the reason. Under pytest-xdist the workers share what the first one built.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import onnx
import onnxruntime
import pytest
from click.testing import CliRunner
from onnx import numpy_helper

from cli import main
from tests.test_fixtures import CONVERTIBLE

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
NODE_DIR = REPO / "examples" / "node"
C_DIR = REPO / "examples" / "c"


def _shared(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A directory built once per test run, shared by xdist workers (first one builds)."""
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    target = root / name
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".built").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            build(target)
            (target / ".built").touch()
    return target


def _run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def _emit_cases(root: Path) -> None:
    for name, dims in CONVERTIBLE.items():
        folder = FIXTURES / name
        args = [
            "convert",
            str(folder / "model.zip"),
            "-o",
            str(root / f"{name}.onnx"),
            "--inputs",
            str(folder / "inputs.npz"),
            "--emit-test-data",
            str(root / "cases" / name),
        ]
        for key, ds in dims.items():
            args += ["--dynamic", f"{key}:{','.join(map(str, ds))}"]
        (root / "cases").mkdir(exist_ok=True)
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixtures' test-case directories: cases/<fixture>/."""
    return _shared(tmp_path_factory, "client-cases", _emit_cases) / "cases"


def _corrupted(cases: Path, target: Path) -> Path:
    """A copy of one case whose expected output_0 of data set 1 is off by far more than rtol."""
    case = shutil.copytree(cases / "mlp", target / "mlp")
    path = case / "test_data_set_1" / "output_0.pb"
    proto = onnx.TensorProto()
    proto.ParseFromString(path.read_bytes())
    values = numpy_helper.to_array(proto).copy()
    values.flat[0] += 1 + 10 * abs(values.flat[0])
    path.write_bytes(numpy_helper.from_array(values, proto.name).SerializeToString())
    return case


@pytest.fixture(scope="session")
def node_service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/node installed with ``npm ci`` (without the CUDA download) in a temp copy."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the Node.js client needs {' and '.join(missing)}, not found on PATH")

    def install(target: Path) -> None:
        shutil.copytree(NODE_DIR, target, dirs_exist_ok=True, ignore=_ignore_node_modules)
        env = {**os.environ, "ONNXRUNTIME_NODE_INSTALL": "skip"}
        done = _run(["npm", "ci", "--no-audit", "--no-fund"], cwd=target, env=env)
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"

    return _shared(tmp_path_factory, "node-service", install)


def _ignore_node_modules(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "node_modules"]


def _node_test(service: Path, cases: str, *files: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JIT2ONNX_TEST_CASES": cases}
    return _run(["node", "--test", *(files or ("test/",))], cwd=service, env=env)


def test_node_service_passes_every_case(node_service: Path, cases: Path) -> None:
    done = _node_test(node_service, str(cases))
    assert done.returncode == 0, done.stdout + done.stderr
    data_sets = sum(len(list(c.glob("test_data_set_*"))) for c in cases.iterdir())
    assert data_sets == 3 * len(CONVERTIBLE)
    passed = next(ln for ln in done.stdout.splitlines() if ln.startswith("# pass "))
    assert int(passed.split()[-1]) >= data_sets + 12  # plus the bad-request tests
    assert "# fail 0" in done.stdout


def test_node_service_fails_on_a_corrupted_output(
    node_service: Path, cases: Path, tmp_path: Path
) -> None:
    case = _corrupted(cases, tmp_path)
    done = _node_test(node_service, str(case), "test/cases.test.js")
    assert done.returncode != 0
    expected = f"MISMATCH {case}/test_data_set_1/output_0.pb (output): 1 of 4 values out of"
    assert expected in done.stdout, done.stdout
    assert "# pass 3\n" in done.stdout and "# fail 1\n" in done.stdout


@pytest.fixture(scope="session")
def c_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/c/ort_testcase built against the headers of Debian's libonnxruntime-dev."""
    if shutil.which("gcc") is None:
        pytest.skip("the C client needs gcc, not found on PATH")
    include = os.environ.get("JIT2ONNX_ORT_INCLUDE")
    if include is None:
        missing = [t for t in ("apt-get", "dpkg-deb") if shutil.which(t) is None]
        if missing:
            pytest.skip(f"the ONNX Runtime C headers come from a Debian package: no {missing[0]}")
        headers = _shared(tmp_path_factory, "ort-headers", _fetch_headers)
        if not (headers / "include").is_file():
            reason = (headers / "error").read_text()
            pytest.skip(f"could not fetch the ONNX Runtime C headers: {reason}")
        include = (headers / "include").read_text().strip()

    def build(target: Path) -> None:
        done = _run(
            ["gcc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{include}", "-o",
             target / "ort_testcase", C_DIR / "ort_testcase.c", "-ldl", "-lm"]
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    return _shared(tmp_path_factory, "c-client", build) / "ort_testcase"


def _fetch_headers(target: Path) -> None:
    done = _run(["sh", C_DIR / "fetch-headers.sh", target / "deb"])
    if done.returncode == 0:
        (target / "include").write_text(done.stdout.strip().splitlines()[-1])
    else:
        lines = (done.stderr or done.stdout).strip().splitlines()
        (target / "error").write_text(lines[-1] if lines else f"exit {done.returncode}")


def _libonnxruntime() -> Path:
    capi = Path(onnxruntime.__file__).parent / "capi"
    libs = sorted(capi.glob("libonnxruntime.so*")) + sorted(capi.glob("onnxruntime.dll"))
    assert libs, f"no libonnxruntime in {capi}"
    return libs[0]


@pytest.mark.parametrize("name", CONVERTIBLE)
def test_c_client_passes(c_client: Path, cases: Path, name: str) -> None:
    done = _run([c_client, _libonnxruntime(), cases / name])
    assert done.returncode == 0, done.stdout + done.stderr
    version = onnxruntime.__version__
    assert done.stdout.splitlines()[-1].startswith(
        f"{cases / name}: 3 data set(s), ONNX Runtime {version} (API "
    )
    assert done.stdout.endswith("): all outputs match\n")


def test_c_client_fails_on_a_corrupted_output(c_client: Path, cases: Path, tmp_path: Path) -> None:
    case = _corrupted(cases, tmp_path)
    done = _run([c_client, _libonnxruntime(), case])
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[1].startswith(
        f"MISMATCH {case}/test_data_set_1/output_0.pb (output): 1 of 4 values out of tolerance"
    )
    assert lines[-1].endswith(": FAILED")
    corrupted = onnx.load_tensor(str(case / "test_data_set_1" / "output_0.pb"))
    assert f"expected {float(numpy_helper.to_array(corrupted).flat[0]):.9g}, got " in lines[1]
