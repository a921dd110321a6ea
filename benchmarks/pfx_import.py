"""PFX import: what opening an uploaded .pfx file costs the portal.

    .venv/bin/python benchmarks/pfx_import.py
    .venv/bin/python benchmarks/pfx_import.py --aes 50 --legacy 10 --repeat 5

The files are made in a throwaway directory under /tmp (removed at the end), each with its own
RSA-2048 key, by the openssl command line itself:
- "AES": `openssl pkcs12 -export` as OpenSSL 3 writes by default (PBES2, AES-256-CBC,
  PBKDF2-HMAC-SHA256, a SHA-256 MAC);
- "legacy": `openssl pkcs12 -export -legacy`, as OpenSSL 1.x and older Windows wrote them
  (RC2-40 for the certificates, 3DES for the key, a SHA-1 MAC).

Per file, the median of `--repeat` runs of:
- open_pfx(data, password, limits): what an upload costs the server worker now: the file and
  password sent to a helper process (already started), load_pfx there, the answer read back;
- load_pfx(data, password) in-process: the work itself (structure checks, then cryptography's
  load_pkcs12: MAC, decryption, RSA key validation; the facts);
- cryptography's pkcs12.load_pkcs12, bare, for scale;
- the RSA private-key validation alone (load_der_private_key of the same key, checked, less
  unchecked), which load_pkcs12 runs on every key it loads.
Apart: the start of a new helper process (the first upload in a server process, and the one
after a file was refused as too much work), median of --starts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import harness

PASSWORD = "correct horse battery staple"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aes", type=int, default=50, help="AES files (OpenSSL 3 default)")
    parser.add_argument("--legacy", type=int, default=10, help="legacy files (-legacy)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per file and tool")
    parser.add_argument("--starts", type=int, default=10, help="helper process starts")
    return parser.parse_args()


def make_files(directory: Path, aes: int, legacy: int) -> list[tuple[str, Path]]:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests import pki

    ca = pki.make_ca("Import Benchmark CA")
    files = []
    for kind, count in (("AES", aes), ("legacy", legacy)):
        for n in range(count):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            leaf = pki.make_leaf(ca, f"client-{kind}-{n}.example.test", key=key)
            pem = pki.write_pem_files(directory / f"{kind}-{n}", leaf)
            out = directory / f"{kind}-{n}.pfx"
            command = ["openssl", "pkcs12", "-export", "-passout", "env:PFX_PASSWORD"]
            command += ["-in", str(pem.certificate), "-inkey", str(pem.key), "-out", str(out)]
            if kind == "legacy":
                command.append("-legacy")
            run(command)
            files.append((kind, out))
    return files


def run(command: list[str]) -> None:
    environment = {**os.environ, "PFX_PASSWORD": PASSWORD}
    # Fixed commands built above; the password travels in the environment, not the arguments.
    subprocess.run(command, check=True, capture_output=True, env=environment, timeout=60)  # noqa: S603


def median_ms(action, repeat: int) -> float:
    return statistics.median(harness.timed(action, repeat=repeat, warmup=1))


def key_validation_ms(data: bytes, repeat: int) -> float:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    key, _, _ = pkcs12.load_key_and_certificates(data, PASSWORD.encode())
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )

    def load(skip: bool):
        serialization.load_der_private_key(der, None, unsafe_skip_rsa_key_validation=skip)

    return median_ms(lambda: load(False), repeat) - median_ms(lambda: load(True), repeat)


TOOLS = {  # key: the label of its row
    "open_pfx": "open_pfx (portal: in a helper)",
    "load_pfx": "load_pfx in-process",
    "bare": "cryptography load_pkcs12, bare",
    "validation": "RSA key validation alone (in load_pkcs12)",
}


def helper_start_ms(starts: int) -> float:
    from certificates import parsing

    context = parsing.multiprocessing.get_context("spawn")

    def start_and_stop():
        parsing._Helper(context).stop()

    return median_ms(start_and_stop, starts)


def main() -> None:
    args = parse_args()
    if str(harness.ROOT) not in sys.path:
        sys.path.insert(0, str(harness.ROOT))
    from cryptography.hazmat.primitives.serialization import pkcs12

    from certificates.parsing import Limits, open_pfx
    from certificates.pfx import load_pfx

    limits = Limits(seconds=60, helpers=1)
    directory = Path(tempfile.mkdtemp(prefix="portal-bench-pfx-"))
    try:
        print(f"Making {args.aes} AES and {args.legacy} legacy files ...", file=sys.stderr)
        files = make_files(directory, args.aes, args.legacy)
        print("Measuring ...", file=sys.stderr)
        start_cost = helper_start_ms(args.starts)
        per_kind = {}
        for kind, path in files:
            data = path.read_bytes()
            times = per_kind.setdefault(kind, {tool: [] for tool in TOOLS})
            actions = {
                "open_pfx": lambda d=data: open_pfx(d, PASSWORD, limits),
                "load_pfx": lambda d=data: load_pfx(d, PASSWORD),
                "bare": lambda d=data: pkcs12.load_pkcs12(d, PASSWORD.encode()),
            }
            for tool, action in actions.items():
                times[tool].append(median_ms(action, args.repeat))
            times["validation"].append(key_validation_ms(data, args.repeat))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    report(args, per_kind, start_cost)


def report(args, per_kind: dict, start_cost: float) -> None:
    from cryptography.hazmat.backends.openssl import backend

    print(f"PFX import, milliseconds per file ({harness.machine()})")
    print(f"cryptography with {backend.openssl_version_text()}")
    starts = f"median of {args.starts}: {start_cost:.1f} ms"
    print(f"\nA new helper process (spawn, imports), {starts}\n")
    rows = []
    for kind, times in per_kind.items():
        label = f"{kind} ({len(times['open_pfx'])} files)"
        for tool, name in TOOLS.items():
            rows.append(summary_row(label if tool == "open_pfx" else "", name, times[tool]))
    print(harness.table(["Files", "Tool", "p50", "p95", "All files"], rows))


def summary_row(label: str, tool: str, samples: list[float]) -> list:
    """p50, p95 and the sum over the files of one tool's per-file medians."""
    return [
        label,
        tool,
        statistics.median(samples),
        harness.percentile(samples, 0.95),
        sum(samples),
    ]


if __name__ == "__main__":
    main()
