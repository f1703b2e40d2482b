#!/usr/bin/env python3
"""Checks the target map of ARCHITECTURE.md against the sources (run by `make test`, exits 1 on a violation):

1. every module a target imports is declared in its Package.swift dependencies (nothing arrives transitively);
2. Models and cgmbench do not link MPI or HDF5 (their dependency closure holds no CMPI, CHDF5, Distributed, HDF5IO);
3. Yams is imported by Config alone;
4. Sources/Training (the trainer only) stays under 4,000 lines.
"""
import glob, os, re, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
package = open(os.path.join(root, "Package.swift")).read()
system = {"Foundation", "FoundationXML", "FoundationNetworking", "XCTest", "Dispatch", "Glibc", "Musl", "Darwin",
          "Testing", "Synchronization"}

targets = {}
for m in re.finditer(r'\.(?:target|executableTarget|testTarget|systemLibrary)\(name: "(\w+)"(.*?)\)(?=,\s*\n)', package, re.S):
    body = m.group(2).split("swiftSettings")[0]
    deps = set(re.findall(r'"(\w+)"', body.split("resources")[0].split("exclude")[0]))
    deps |= set(re.findall(r'product\(name: "(\w+)"', body))
    targets[m.group(1)] = deps - {m.group(1)}

def imports(target):
    folder = next(d for d in (os.path.join(root, "Sources", target), os.path.join(root, "Tests", target)) if os.path.isdir(d))
    found = {}
    for f in glob.glob(folder + "/**/*.swift", recursive=True):
        for n, line in enumerate(open(f), 1):
            m = re.match(r"\s*(?:@testable\s+|@_exported\s+)?import\s+(\w+)", line)
            if m: found.setdefault(m.group(1), f"{os.path.relpath(f, root)}:{n}")
    return found

def closure(target, seen=None):
    seen = set() if seen is None else seen
    for d in targets.get(target, ()):
        if d not in seen:
            seen.add(d)
            closure(d, seen)
    return seen

problems = []
for t, deps in targets.items():
    if not any(os.path.isdir(os.path.join(root, p, t)) for p in ("Sources", "Tests")) or t.startswith("C") and t.isupper():
        continue
    for module, where in sorted(imports(t).items()):
        if module not in deps and module not in system and module != t:
            problems.append(f"{where}: {t} imports {module}, which Package.swift does not declare as its dependency")
        if module == "Yams" and t != "Config":
            problems.append(f"{where}: only Config may import Yams ({t} does)")
for t in ("Models", "cgmbench"):
    leaked = closure(t) & {"CMPI", "CHDF5", "Distributed", "HDF5IO"}
    if leaked:
        problems.append(f"Package.swift: {t} depends on {', '.join(sorted(leaked))} (it must not link MPI or HDF5)")
lines = sum(sum(1 for _ in open(f)) for f in glob.glob(os.path.join(root, "Sources/Training/**/*.swift"), recursive=True))
if lines >= 4000:
    problems.append(f"Sources/Training has {lines} lines (the trainer only: keep it under 4,000)")

for p in problems:
    print("check-architecture: " + p, file=sys.stderr)
if problems:
    sys.exit(1)
print(f"check-architecture: {len(targets)} targets, imports declared, Models and cgmbench free of MPI/HDF5, "
      f"Yams in Config only, Sources/Training {lines} lines")
