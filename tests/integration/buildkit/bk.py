"""The harness of the ported BuildKit frontend tests (see README.md).

Each *_test.py file here is one of moby/buildkit's frontend/dockerfile
*_test.go files translated: a Suite whose cases build with strata, as the Go
test builds with BuildKit, and assert what the Go test asserts. Run as
    python3 FILE_test.py STRATA [CASE...]
it prints one line per case (ok, FAIL with the reason, or skip with the
reason the Go test is not ported), then counts, and exits 1 when a case
failed. A machine without root, a runtime or busybox fails: nothing here is
skipped silently.
"""

import email.utils
import http.server
import io
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))


class File:
    """A context file with a mode (the Go tests' fstest.CreateFile)."""

    def __init__(self, data, mode=0o644):
        self.data = data.encode() if isinstance(data, str) else data
        self.mode = mode


class Dir:
    def __init__(self, mode=0o755):
        self.mode = mode


class Symlink:
    def __init__(self, target):
        self.target = target


class Socket:
    """A unix socket (fstest has none; the Go test binds one)."""


def make_tar(entries, gzip=False):
    """A tar archive of (name, data) files, or (name, tarfile type, extra
    TarInfo fields) entries, as the Go tests write them with archive/tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gzip else "w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            name, kind, fields = (entry[0], tarfile.REGTYPE, {}) if len(entry) == 2 else entry
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mode = fields.pop("mode", 0o755 if kind == tarfile.DIRTYPE else 0o644)
            for k, v in fields.items():
                setattr(info, k, v)
            data = entry[1] if len(entry) == 2 else b""
            data = data.encode() if isinstance(data, str) else data
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Response:
    """What the test HTTP server answers for one path (httpserver.Response)."""

    def __init__(self, content, etag=None, last_modified=None):
        self.content = content.encode() if isinstance(content, str) else content
        self.etag = etag
        self.last_modified = last_modified  # seconds since the epoch


class HTTPServer:
    """A loopback HTTP server (BuildKit's testutil/httpserver): serves
    `routes`, answers HEAD and If-None-Match, and records each request's
    method and headers per path in `requests`."""

    def __init__(self, routes):
        self.routes = routes
        self.requests = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, body):
                server.requests.setdefault(self.path, []).append((self.command, dict(self.headers)))
                r = server.routes.get(self.path)
                if r is None:
                    self.send_error(404)
                    return
                if r.etag and self.headers.get("If-None-Match") == r.etag:
                    self.send_response(304)
                    self.send_header("ETag", r.etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(r.content)))
                if r.etag:
                    self.send_header("ETag", r.etag)
                if r.last_modified is not None:
                    self.send_header("Last-Modified", email.utils.formatdate(r.last_modified, usegmt=True))
                self.end_headers()
                if body:
                    self.wfile.write(r.content)

            def do_GET(self):
                self.answer(True)

            def do_HEAD(self):
                self.answer(False)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FileServer(HTTPServer):
    """A loopback HTTP server of a directory's files (Go's
    http.FileServer), as the Go tests serve a git repository after `git
    update-server-info` (git's "dumb" http protocol)."""

    def __init__(self, directory):
        self.requests = {}
        root = os.path.realpath(directory)

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=root, **kwargs)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def git_repo(directory, commands, object_format=None):
    """runShell(dir, "git init", ...): a repository made with the git CLI;
    `commands` are shell lines run in it after `git init` and the test
    identity."""
    os.makedirs(directory, exist_ok=True)
    init = "git init -q" + (f" --object-format={object_format}" if object_format else "")
    script = "\n".join(["set -e", init, "git config --local user.email test",
                        "git config --local user.name test", *commands])
    subprocess.run(["sh", "-c", script], cwd=directory, check=True, capture_output=True)


def git_rev(directory, rev):
    return subprocess.run(["git", "rev-parse", rev], cwd=directory, check=True, capture_output=True,
                          text=True).stdout.strip()


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def equal(got, want, what=""):
    if got != want:
        raise Failure(f"{what + ': ' if what else ''}expected {want!r}, got {got!r}")


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr


class Case:
    """One test: a fresh context directory and output directory."""

    def __init__(self, suite, name):
        self.suite = suite
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=name + ".", dir=suite.work)
        self.ctx = os.path.join(self.dir, "context")
        self.out = os.path.join(self.dir, "out")
        os.mkdir(self.ctx)
        self.tags = 0

    def context(self, files, root=None):
        """Writes files (name -> str|bytes|File|Dir|Symlink|Socket) into the
        context directory (or ROOT). Parents are made 0755."""
        root = root or self.ctx
        for name, value in files.items():
            path = os.path.join(root, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if isinstance(value, (str, bytes)):
                value = File(value, 0o600)
            if isinstance(value, File):
                with open(path, "wb") as f:
                    f.write(value.data)
                os.chmod(path, value.mode)
            elif isinstance(value, Dir):
                os.makedirs(path, exist_ok=True)
                os.chmod(path, value.mode)
            elif isinstance(value, Symlink):
                os.symlink(value.target, path)
            elif isinstance(value, Socket):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.bind(path)
                s.close()
            else:
                raise TypeError(f"{name}: {value!r}")
        return root

    def strata(self, *args, stdin=None, env=None, cwd=None):
        full_env = dict(os.environ, STRATA_ROOT=self.suite.store)
        full_env.update(env or {})
        # Bytes in (a tar on stdin): bytes out, the output as it came.
        text = not isinstance(stdin, bytes)
        proc = subprocess.run([self.suite.strata, *args], input=stdin, capture_output=True, text=text,
                              env=full_env, timeout=300, cwd=cwd)
        if not text:
            proc.stderr = proc.stderr.decode(errors="replace")
        return Result(proc)

    def build(self, *flags, local=False, tag=None, error=None, context=None, env=None, stdin=None):
        """strata build FLAGS CONTEXT. local=True exports the result to
        self.out (--output type=local); tag names it in the store. error:
        the build must fail with this text in its error output. Returns the
        Result."""
        args = ["build", "--progress", "plain", *flags]
        if local:
            shutil.rmtree(self.out, ignore_errors=True)
            args += ["--output", f"type=local,dest={self.out}"]
        if tag:
            args += ["-t", tag]
        args.append(context or self.ctx)
        r = self.strata(*args, env=env, stdin=stdin)
        if error is None:
            check(r.code == 0, f"build failed (exit {r.code}):\n{tail(r.stderr)}")
        else:
            check(r.code != 0, f"build succeeded; expected an error containing {error!r}")
            check(error in r.stderr, f"expected an error containing {error!r}, got:\n{tail(r.stderr)}")
        return r

    def image_tag(self):
        self.tags += 1
        return f"bk-{self.name.lower()}-{self.tags}"

    def inspect(self, tag):
        r = self.strata("inspect", tag)
        check(r.code == 0, f"inspect {tag}: {r.stderr}")
        return json.loads(r.stdout)

    def config(self, tag):
        return self.inspect(tag)["config"]

    # The local output, as the Go tests read it.
    def path(self, name):
        return os.path.join(self.out, name.lstrip("/"))

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read().decode()

    def exists(self, name):
        return os.path.lexists(self.path(name))

    def stat(self, name):
        return os.lstat(self.path(name))

    def mode(self, name):
        return stat.S_IMODE(self.stat(name).st_mode)

    def owner(self, name):
        st = self.stat(name)
        return (st.st_uid, st.st_gid)

    def listdir(self, name="/"):
        return sorted(os.listdir(self.path(name)))


def tail(text, lines=25):
    return "\n".join(text.splitlines()[-lines:])


class Suite:
    def __init__(self, go_file):
        self.go_file = go_file
        self.cases = []
        self.skips = []

    def test(self, name):
        def register(fn):
            self.cases.append((name, fn))
            return fn
        return register

    def dockerfile_case(self, name, dockerfile, files=None, context=None, flags=()):
        """A case that builds `dockerfile` (with the `context` files beside
        it, and build `flags`) and, given `files` (path -> content), exports
        the result and checks those files."""
        def run(t):
            t.context({"Dockerfile": dockerfile, **(context or {})})
            t.build(*flags, local=files is not None)
            for path, content in (files or {}).items():
                equal(t.read(path), content, path)
        self.test(name)(run)

    def skip(self, name, reason):
        """A Go test of the file that is not ported, and why."""
        self.skips.append((name, reason))

    def setup(self):
        if os.geteuid() != 0:
            sys.exit("FAIL: the BuildKit suite needs root (overlayfs, namespaces)")
        if not (shutil.which("crun") or shutil.which("runc")):
            sys.exit("FAIL: no crun or runc")
        if not os.access("/bin/busybox", os.X_OK):
            sys.exit("FAIL: busybox-static is not installed")
        self.work = tempfile.mkdtemp(prefix="strata-bk.")
        self.store = os.path.join(self.work, "store")
        base = os.path.join(self.work, "busybox")
        subprocess.run([os.path.join(HERE, "..", "busybox_context.sh"), base], check=True)
        r = subprocess.run([self.strata, "build", "--progress", "quiet", "-t", "busybox", base],
                           env=dict(os.environ, STRATA_ROOT=self.store), capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"FAIL: building the busybox base: {r.stderr}")

    def teardown(self):
        with open("/proc/self/mounts") as f:
            left = [line for line in f if f" {self.work}" in line]
        shutil.rmtree(self.work, ignore_errors=True)
        if left:
            print("FAIL: mounts left behind:\n" + "".join(left))
            return False
        return True

    def run(self):
        self.strata = os.path.realpath(sys.argv[1])
        only = set(sys.argv[2:])
        unknown = only - {n for n, _ in self.cases} - {n for n, _ in self.skips}
        if unknown:
            sys.exit(f"no such case: {', '.join(sorted(unknown))}")
        self.setup()
        failed = []
        passed = 0
        try:
            for name, fn in self.cases:
                if only and name not in only:
                    continue
                case = Case(self, name)
                try:
                    fn(case)
                    passed += 1
                    print(f"ok    {name}", flush=True)
                except (Failure, OSError) as e:
                    failed.append(name)
                    print(f"FAIL  {name}: {e}", flush=True)
                except Exception:
                    failed.append(name)
                    print(f"FAIL  {name}: {traceback.format_exc()}", flush=True)
            for name, reason in self.skips:
                if not only or name in only:
                    print(f"skip  {name}: {reason}")
        finally:
            clean = self.teardown()
        print(f"{os.path.basename(self.go_file)}: {passed} passed, {len(failed)} failed, "
              f"{len(self.skips)} not ported")
        sys.exit(0 if not failed and clean else 1)
