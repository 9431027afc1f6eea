#!/usr/bin/env python3
"""Writes hostile OCI image archives for the hostile-input tests.

  make_archive.py OUT.tar NAME SPEC.json

SPEC is a JSON object:
  "base_layers": optional paths of layer blobs (tar, or gzip'd tar) put first
  "layers": a list of layers, each a list of entries
      {"name": ..., "type": "file|dir|symlink|hardlink|char|block|fifo",
       "data": "...", "link": "...", "major": N, "minor": N, "mode": N}
  "diff_ids": optional list replacing the true diff ids in the config
  "config": optional raw text of the config (replaces the generated one)
  "manifest": optional raw text of the manifest
  "index": optional raw text of index.json
  "extra": optional {path in the archive: text} written as they are
  "layer_size": optional size to declare for every layer descriptor
  "docker": true writes a docker archive instead (manifest.json, <hex>.json,
      <n>/layer.tar); "docker_manifest" replaces the text of its manifest.json
  "junk": optional {path: size}: members of that many zero bytes
Every blob is written under blobs/sha256/<its digest>, whatever the JSON says.
"""
import gzip
import hashlib
import io
import json
import sys
import tarfile

TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
         "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE,
         "fifo": tarfile.FIFOTYPE}


def layer_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            info.type = TYPES[e.get("type", "file")]
            info.mode = e.get("mode", 0o755 if info.type == tarfile.DIRTYPE else 0o644)
            info.linkname = e.get("link", "")
            info.devmajor = e.get("major", 0)
            info.devminor = e.get("minor", 0)
            data = e.get("data", "").encode()
            if info.type == tarfile.REGTYPE:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
    return buf.getvalue()


class ZeroReader:
    """size zero bytes, read in pieces (a member of gigabytes costs no memory)."""

    def __init__(self, size):
        self.left = size

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n)


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def main():
    out, name, spec_path = sys.argv[1:4]
    with open(spec_path) as f:
        spec = json.load(f)
    blobs = {}
    layers = []
    for path in spec.get("base_layers", []):
        with open(path, "rb") as f:
            data = f.read()
        layers.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    layers += [layer_tar(entries) for entries in spec.get("layers", [])]
    for l in layers:
        blobs[digest(l)] = l
    diff_ids = spec.get("diff_ids", [digest(l) for l in layers])
    config = spec.get("config")
    if config is None:
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "config": {"Cmd": ["/bin/sh"]},
                             "rootfs": {"type": "layers", "diff_ids": diff_ids}})
    config = config.encode()
    blobs[digest(config)] = config
    manifest = spec.get("manifest")
    if manifest is None:
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": digest(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": digest(l), "size": spec.get("layer_size", len(l))}
                       for l in layers]})
    manifest = manifest.encode()
    blobs[digest(manifest)] = manifest
    index = spec.get("index")
    if index is None:
        index = json.dumps({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest(manifest), "size": len(manifest),
            "annotations": {"org.opencontainers.image.ref.name": name}}]})
    files = {"oci-layout": '{"imageLayoutVersion":"1.0.0"}', "index.json": index}
    if spec.get("docker"):
        files = {}
        blobs = {}
        cfg_name = digest(config)[7:] + ".json"
        files[cfg_name] = config.decode()
        names = []
        for i, l in enumerate(layers):
            names.append(f"{i}/layer.tar")
            blobs[names[-1]] = l
        files["manifest.json"] = spec.get("docker_manifest", json.dumps(
            [{"Config": cfg_name, "RepoTags": [name], "Layers": names}]))
    files.update(spec.get("extra", {}))
    mode = "w:gz" if out.endswith(".gz") else "w"
    with tarfile.open(out, mode) as t:
        for path, size in spec.get("junk", {}).items():
            info = tarfile.TarInfo(path)
            info.size = size
            t.addfile(info, ZeroReader(size))
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for d, b in blobs.items():
            info = tarfile.TarInfo(d if spec.get("docker") else "blobs/sha256/" + d[7:])
            info.size = len(b)
            t.addfile(info, io.BytesIO(b))


main()
