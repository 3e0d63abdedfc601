#!/usr/bin/env python3
"""oci-image.py: writes a one-layer OCI image layout, byte-for-byte reproducible.

The same inputs give the same image digest: tar entries are sorted, owned by fixed numeric
ids with empty user/group names, stamped with SOURCE_DATE_EPOCH (--epoch); gzip has no name
and mtime 0; JSON is written with sorted keys and no spaces. Used by tools/build-image.sh
(the runner image) and tools/k8s-testenv/testenv.sh (the node's pod sandbox image).

  oci-image.py --out DIR --epoch N --ref-name TAG --entrypoint /bin/x [--entrypoint ARG...]
      --file SRC:DEST:MODE[:UID:GID] ... [--dir DEST:MODE[:UID:GID] ...]
      [--user UID:GID] [--env K=V ...] [--workdir DIR] [--label K=V ...]

DIR is replaced as a whole (written beside it, then renamed). Prints the manifest digest.
"""

import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile


def fail(msg):
    print(f"oci-image: error: {msg}", file=sys.stderr)
    sys.exit(1)


def parse_owned(spec, what, with_src):
    """SRC:DEST:MODE[:UID:GID] (with_src) or DEST:MODE[:UID:GID]."""
    parts = spec.split(":")
    n = 3 if with_src else 2
    if len(parts) not in (n, n + 2):
        fail(f"{what} {spec!r}: expected {'SRC:' if with_src else ''}DEST:MODE[:UID:GID]")
    try:
        mode = int(parts[n - 1], 8)
        uid, gid = (int(parts[n]), int(parts[n + 1])) if len(parts) == n + 2 else (0, 0)
    except ValueError:
        fail(f"{what} {spec!r}: MODE is octal, UID and GID are numbers")
    dest = parts[n - 2].strip("/")
    if not dest or ".." in dest.split("/"):
        fail(f"{what} {spec!r}: DEST must be an absolute path inside the image")
    return (parts[0] if with_src else None), dest, mode, uid, gid


def tar_info(name, mode, uid, gid, epoch, kind, size=0):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.uname = ti.gname = ""
    ti.mtime = epoch
    ti.size = size
    return ti


def layer_tar(files, dirs, epoch):
    """The uncompressed layer: every parent directory, then the entries, sorted by path."""
    entries = {}
    for dest, mode, uid, gid in dirs:
        entries[dest] = ("dir", mode, uid, gid, None)
    for src, dest, mode, uid, gid in files:
        if not os.path.isfile(src):
            fail(f"--file {src}: no such file")
        entries[dest] = ("file", mode, uid, gid, src)
    for path in list(entries):
        parts = path.split("/")
        for i in range(1, len(parts)):
            entries.setdefault("/".join(parts[:i]), ("dir", 0o755, 0, 0, None))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(entries):
            kind, mode, uid, gid, src = entries[path]
            if kind == "dir":
                tar.addfile(tar_info(path + "/", mode, uid, gid, epoch, tarfile.DIRTYPE))
            else:
                with open(src, "rb") as f:
                    data = f.read()
                ti = tar_info(path, mode, uid, gid, epoch, tarfile.REGTYPE, len(data))
                tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def put_blob(blobs, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return f"sha256:{digest}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--epoch", required=True, type=int)
    ap.add_argument("--ref-name", required=True)
    ap.add_argument("--entrypoint", action="append", required=True)
    ap.add_argument("--file", action="append", default=[])
    ap.add_argument("--dir", action="append", default=[])
    ap.add_argument("--user", default="")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--workdir", default="")
    ap.add_argument("--label", action="append", default=[])
    a = ap.parse_args()

    files = [parse_owned(s, "--file", True) for s in a.file]
    dirs = [parse_owned(s, "--dir", False)[1:] for s in a.dir]
    labels = {}
    for item in a.label:
        k, sep, v = item.partition("=")
        if not sep or not k:
            fail(f"--label {item!r}: expected KEY=VALUE")
        labels[k] = v
    created = datetime.datetime.fromtimestamp(a.epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )

    raw = layer_tar(files, dirs, a.epoch)
    gz = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=gz, mode="wb", compresslevel=9, mtime=0) as g:
        g.write(raw)
    layer = gz.getvalue()

    out = os.path.abspath(a.out)
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    blobs = os.path.join(tmp, "blobs", "sha256")
    os.makedirs(blobs)

    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"Entrypoint": a.entrypoint, "Env": a.env, "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
        "history": [{"created": created, "created_by": "tools/oci-image.py"}],
    }
    if a.user:
        config["config"]["User"] = a.user
    if a.workdir:
        config["config"]["WorkingDir"] = a.workdir
    config_bytes = canonical(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": put_blob(blobs, config_bytes),
            "size": len(config_bytes),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": put_blob(blobs, layer),
                "size": len(layer),
            }
        ],
        "annotations": {"org.opencontainers.image.created": created},
    }
    manifest_bytes = canonical(manifest)
    manifest_digest = put_blob(blobs, manifest_bytes)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "annotations": {"org.opencontainers.image.ref.name": a.ref_name},
            }
        ],
    }
    with open(os.path.join(tmp, "index.json"), "wb") as f:
        f.write(canonical(index))
    with open(os.path.join(tmp, "oci-layout"), "wb") as f:
        f.write(canonical({"imageLayoutVersion": "1.0.0"}))
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print(manifest_digest)


if __name__ == "__main__":
    main()
