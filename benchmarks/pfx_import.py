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
  key and certificate checks, facts), in-process;
- cryptography's pkcs12.load_key_and_certificates: the bare OpenSSL parse in-process, for scale;
- the RSA private-key validation alone (load_der_private_key of the same key, checked, less
  unchecked), which cryptography runs on every key it loads and `openssl pkcs12` does not;
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


def main() -> None:
    args = parse_args()
    if str(harness.ROOT) not in sys.path:
        sys.path.insert(0, str(harness.ROOT))
    from cryptography.hazmat.primitives.serialization import pkcs12

    from certificates.pfx import load_pfx

    directory = Path(tempfile.mkdtemp(prefix="portal-bench-pfx-"))
    try:
        print(f"Making {args.aes} AES and {args.legacy} legacy files ...", file=sys.stderr)
        files = make_files(directory, args.aes, args.legacy)
        start_cost = median_ms(lambda: run(["openssl", "version"]), max(30, args.repeat))
        print("Measuring ...", file=sys.stderr)
        per_kind = {}
        for kind, path in files:
            data = path.read_bytes()
            openssl = ["openssl", "pkcs12", "-in", str(path), "-passin", "env:PFX_PASSWORD"]
            openssl += ["-nodes", "-out", os.devnull] + (["-legacy"] if kind == "legacy" else [])
            times = per_kind.setdefault(
                kind, {"load_pfx": [], "bare": [], "validation": [], "openssl": []}
            )
            times["load_pfx"].append(median_ms(lambda d=data: load_pfx(d, PASSWORD), args.repeat))
            times["bare"].append(
                median_ms(
                    lambda d=data: pkcs12.load_key_and_certificates(d, PASSWORD.encode()),
                    args.repeat,
                )
            )
            times["validation"].append(key_validation_ms(data, args.repeat))
            times["openssl"].append(median_ms(lambda c=openssl: run(c), args.repeat))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    report(args, per_kind, start_cost)


def report(args, per_kind: dict, start_cost: float) -> None:
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
        load = statistics.median(times["load_pfx"])
        bare = statistics.median(times["bare"])
        openssl = statistics.median(times["openssl"])
        validation = statistics.median(times["validation"])
        adjusted = openssl - start_cost
        count = len(times["load_pfx"])
        rows += [
            [
                f"{kind} ({count} files)",
                "load_pfx (portal)",
                load,
                harness.percentile(times["load_pfx"], 0.95),
                sum(times["load_pfx"]),
            ],
            [
                "",
                "cryptography pkcs12, bare",
                bare,
                harness.percentile(times["bare"], 0.95),
                sum(times["bare"]),
            ],
            [
                "",
                "RSA key validation alone (in both above)",
                validation,
                harness.percentile(times["validation"], 0.95),
                sum(times["validation"]),
            ],
            [
                "",
                "load_pfx less the key validation",
                load - validation,
                "",
                sum(times["load_pfx"]) - sum(times["validation"]),
            ],
            [
                "",
                "openssl pkcs12 (process)",
                openssl,
                harness.percentile(times["openssl"], 0.95),
                sum(times["openssl"]),
            ],
            [
                "",
                "openssl pkcs12, start-adjusted",
                adjusted,
                harness.percentile(times["openssl"], 0.95) - start_cost,
                sum(times["openssl"]) - count * start_cost,
            ],
        ]
        verdicts.append((kind, load, openssl, adjusted, validation))
    print(harness.table(["Files", "Tool", "p50", "p95", "All files"], rows))
    print()
    for kind, load, openssl, adjusted, validation in verdicts:
        ratio = load / adjusted
        verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
        print(
            f"{kind}: load_pfx / openssl start-adjusted = {ratio:.2f}x (target {TARGET_RATIO}x: "
            f"{verdict}); against openssl with its process start: {load / openssl:.2f}x; "
            f"without the RSA key validation: {(load - validation) / adjusted:.2f}x."
        )


if __name__ == "__main__":
    main()
