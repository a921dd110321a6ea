"""PFX import: certificates.pfx.load_pfx against `openssl pkcs12` on the same files.

    .venv/bin/python benchmarks/pfx_import.py
    .venv/bin/python benchmarks/pfx_import.py --aes 50 --legacy 10 --repeat 5

The files are made in a throwaway directory under /tmp (removed at the end), each with its own
RSA-2048 key, by the openssl command line itself:
- "AES": `openssl pkcs12 -export` as OpenSSL 3 writes by default (PBES2, AES-256-CBC,
  PBKDF2-HMAC-SHA256, a SHA-256 MAC);
- "legacy": `openssl pkcs12 -export -legacy`, as OpenSSL 1.x and older Windows wrote them
  (RC2-40 for the certificates, 3DES for the key, a SHA-1 MAC).

Per file, the median of `--repeat` runs of:
- load_pfx(data, password): what an upload costs the portal (structure checks, MAC, decryption,
  key and certificate checks, facts), in-process; it opens the file with
  certificates.pkcs12.quick_load, and falls back to cryptography for a file that leaves aside;
- quick_load(data, password) alone: that loader's share;
- cryptography's pkcs12.load_pkcs12: the loader load_pfx falls back to, bare, for scale;
- the RSA private-key validation alone (load_der_private_key of the same key, checked, less
  unchecked), which load_pkcs12 runs on every key it loads and `openssl pkcs12` does not;
- `openssl pkcs12 -in FILE -passin env:... -nodes -out /dev/null` (with -legacy for legacy
  files): a new process each time, so it also pays process start;
- `openssl version`: that start cost alone. "openssl, start-adjusted" subtracts its median.
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
TARGET_RATIO = 1.2


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aes", type=int, default=50, help="AES files (OpenSSL 3 default)")
    parser.add_argument("--legacy", type=int, default=10, help="legacy files (-legacy)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per file and tool")
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
    "load_pfx": "load_pfx (portal)",
    "quick": "of which quick_load",
    "bare": "cryptography load_pkcs12, bare",
    "validation": "RSA key validation alone (in load_pkcs12)",
    "openssl": "openssl pkcs12 (process)",
}


def main() -> None:
    args = parse_args()
    if str(harness.ROOT) not in sys.path:
        sys.path.insert(0, str(harness.ROOT))
    from cryptography.hazmat.primitives.serialization import pkcs12

    from certificates.pfx import load_pfx
    from certificates.pkcs12 import quick_load

    directory = Path(tempfile.mkdtemp(prefix="portal-bench-pfx-"))
    try:
        print(f"Making {args.aes} AES and {args.legacy} legacy files ...", file=sys.stderr)
        files = make_files(directory, args.aes, args.legacy)
        start_cost = median_ms(lambda: run(["openssl", "version"]), max(30, args.repeat))
        print("Measuring ...", file=sys.stderr)
        per_kind = {}
        opened = {}
        for kind, path in files:
            data = path.read_bytes()
            openssl = ["openssl", "pkcs12", "-in", str(path), "-passin", "env:PFX_PASSWORD"]
            openssl += ["-nodes", "-out", os.devnull] + (["-legacy"] if kind == "legacy" else [])
            times = per_kind.setdefault(kind, {tool: [] for tool in TOOLS})
            actions = {
                "load_pfx": lambda d=data: load_pfx(d, PASSWORD),
                "quick": lambda d=data: quick_load(d, PASSWORD),
                "bare": lambda d=data: pkcs12.load_pkcs12(d, PASSWORD.encode()),
                "openssl": lambda c=openssl: run(c),
            }
            for tool, action in actions.items():
                times[tool].append(median_ms(action, args.repeat))
            times["validation"].append(key_validation_ms(data, args.repeat))
            opened[kind] = opened.get(kind, 0) + (quick_load(data, PASSWORD) is not None)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    report(args, per_kind, opened, start_cost)


def report(args, per_kind: dict, opened: dict, start_cost: float) -> None:
    from cryptography.hazmat.backends.openssl import backend

    command = subprocess.run(["openssl", "version"], capture_output=True, text=True)  # noqa: S607
    print(f"PFX import, milliseconds per file ({harness.machine()})")
    print(
        f"cryptography {backend.openssl_version_text()}; the openssl command line "
        f"{command.stdout.strip()}"
    )
    runs = max(30, args.repeat)
    print(f"\nProcess start (`openssl version`), median of {runs}: {start_cost:.2f} ms\n")
    rows = []
    verdicts = []
    for kind, times in per_kind.items():
        count = len(times["load_pfx"])
        label = f"{kind} ({count} files)"
        for tool, name in TOOLS.items():
            rows.append(summary_row(label if tool == "load_pfx" else "", name, times[tool]))
        adjusted = [value - start_cost for value in times["openssl"]]
        rows.append(summary_row("", "openssl pkcs12, start-adjusted", adjusted))
        load = statistics.median(times["load_pfx"])
        verdicts.append((kind, load, statistics.median(times["openssl"]), start_cost))
    print(harness.table(["Files", "Tool", "p50", "p95", "All files"], rows))
    print()
    for kind, load, openssl, start in verdicts:
        ratio = load / (openssl - start)
        verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
        print(
            f"{kind}: load_pfx / openssl start-adjusted = {ratio:.2f}x (target {TARGET_RATIO}x: "
            f"{verdict}); against openssl with its process start: {load / openssl:.2f}x; "
            f"quick_load opened {opened[kind]} of {len(per_kind[kind]['load_pfx'])} files itself."
        )


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
