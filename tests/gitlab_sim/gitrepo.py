"""Real git repositories on disk, driven through git plumbing (no work trees)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ZERO_SHA = "0" * 40
GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"


class GitError(Exception):
    """A git command failed, or a commit action was refused (message as GitLab words it)."""


@dataclass
class Identity:
    name: str
    email: str


@dataclass
class FileDiff:
    old_path: str
    new_path: str
    a_mode: str
    b_mode: str
    diff: str
    new_file: bool
    renamed_file: bool
    deleted_file: bool


def base_env(home: Path) -> dict[str, str]:
    """An environment that ignores the machine's git configuration."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "LANG": "C",
        "LC_ALL": "C",
    }


class Repo:
    def __init__(self, path: Path, home: Path) -> None:
        self.path = path
        self.home = home

    # -- plumbing -------------------------------------------------------------------------
    def git(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        full_env = base_env(self.home)
        if env:
            full_env.update(env)
        proc = subprocess.run(
            ["git", "-c", "core.quotePath=false", "--git-dir", str(self.path), *args],
            input=input,
            capture_output=True,
            env=full_env,
            check=False,
        )
        if check and proc.returncode != 0:
            raise GitError(proc.stderr.decode(errors="replace").strip() or f"git {args[0]} failed")
        return proc

    def out(self, *args: str, **kw) -> str:
        return self.git(*args, **kw).stdout.decode().strip()

    def init(self, default_branch: str, hooks_path: Path) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "-q", "--bare", "-b", default_branch, str(self.path)],
            check=True,
            capture_output=True,
            env=base_env(self.home),
        )
        self.git("config", "core.hooksPath", str(hooks_path))
        self.git("config", "http.receivepack", "true")

    # -- refs -----------------------------------------------------------------------------
    def resolve(self, ref: str) -> str | None:
        if not ref:
            return None
        for candidate in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
            proc = self.git("rev-parse", "--verify", "-q", f"{candidate}^{{commit}}", check=False)
            if proc.returncode == 0:
                return proc.stdout.decode().strip()
        return None

    def branch_sha(self, branch: str) -> str | None:
        proc = self.git(
            "rev-parse", "--verify", "-q", f"refs/heads/{branch}^{{commit}}", check=False
        )
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def branches(self) -> dict[str, str]:
        text = self.out("for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads")
        result = {}
        for line in text.splitlines():
            name, sha = line.rsplit(" ", 1)
            result[name] = sha
        return dict(sorted(result.items()))

    def tags(self) -> dict[str, str]:
        """Tag name -> the commit it points at (annotated tags peeled)."""
        fmt = "%(refname:strip=2) %(*objectname) %(objectname)"
        result = {}
        for line in self.out("for-each-ref", f"--format={fmt}", "refs/tags").splitlines():
            name, *shas = line.rsplit(" ", 2)
            result[name] = next(s for s in shas if s)
        return dict(sorted(result.items()))

    def containing(self, sha: str, namespace: str) -> list[str]:
        """Short names of the refs under ``namespace`` (refs/heads, refs/tags) that contain
        ``sha``, sorted (Gitaly's ListBranchNamesContainingCommit / ListTagNamesContaining...)."""
        text = self.out(
            "for-each-ref", "--format=%(refname:strip=2)", f"--contains={sha}", namespace
        )
        return sorted(text.splitlines())

    def update_ref(self, ref: str, new: str, old: str | None = None) -> None:
        args = ["update-ref", ref, new]
        if old is not None:
            args.append(old)
        self.git(*args)

    def delete_ref(self, ref: str) -> None:
        self.git("update-ref", "-d", ref)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return (
            self.git("merge-base", "--is-ancestor", ancestor, descendant, check=False).returncode
            == 0
        )

    def merge_base(self, a: str, b: str) -> str | None:
        proc = self.git("merge-base", a, b, check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def fetch_from(self, other: Repo, src_ref: str, dst_ref: str) -> None:
        self.git("fetch", "-q", "--no-tags", str(other.path), f"+{src_ref}:{dst_ref}")

    # -- objects --------------------------------------------------------------------------
    def commit_info(self, sha: str) -> dict:
        fmt = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"
        text = self.git("show", "-s", f"--format={fmt}", sha).stdout.decode()
        parts = text.split("\x00")
        message = parts[8].rstrip("\n") + "\n" if parts[8].strip() else ""
        return {
            "id": parts[0],
            "parent_ids": parts[1].split() if parts[1] else [],
            "author_name": parts[2],
            "author_email": parts[3],
            "authored_date": parts[4],
            "committer_name": parts[5],
            "committer_email": parts[6],
            "committed_date": parts[7],
            "message": message,
            "title": message.split("\n", 1)[0],
        }

    def log(self, rev_range: str, path: str | None = None, limit: int | None = None) -> list[str]:
        args = ["rev-list"]
        if limit:
            args.append(f"--max-count={limit}")
        args.append(rev_range)
        if path:
            args += ["--", path]
        return self.out(*args).split()

    def ls_tree(self, commit: str, path: str = "", recursive: bool = False) -> list[dict]:
        """Entries under ``path`` (a directory) at ``commit``: mode, type, id, path, name."""
        args = ["ls-tree", "-z"]
        if recursive:
            args += ["-r", "-t"]
        treeish = f"{commit}:{path}" if path else commit
        proc = self.git(*args, treeish, check=False)
        if proc.returncode != 0:
            raise FileNotFoundError(path)
        entries = []
        for raw in proc.stdout.decode().split("\x00"):
            if not raw:
                continue
            meta, name = raw.split("\t", 1)
            mode, kind, oid = meta.split()
            full = f"{path}/{name}" if path else name
            entries.append(
                {
                    "mode": mode,
                    "type": kind,
                    "id": oid,
                    "path": full,
                    "name": full.rsplit("/", 1)[-1],
                }
            )
        return entries

    def tree_files(self, commit: str | None) -> dict[str, tuple[str, str]]:
        """Every blob at ``commit``: path -> (mode, blob id)."""
        if not commit:
            return {}
        files = {}
        for entry in self.ls_tree(commit, recursive=True):
            if entry["type"] == "blob":
                files[entry["path"]] = (entry["mode"], entry["id"])
        return files

    def blob_at(self, commit: str, path: str) -> tuple[str, str] | None:
        proc = self.git("ls-tree", "-z", commit, "--", path, check=False)
        for raw in proc.stdout.decode().split("\x00"):
            if raw and raw.split("\t", 1)[1] == path:
                mode, kind, oid = raw.split("\t", 1)[0].split()
                if kind == "blob":
                    return mode, oid
        return None

    def read_blob(self, oid: str) -> bytes:
        return self.git("cat-file", "blob", oid).stdout

    def blob_size(self, oid: str) -> int:
        return int(self.out("cat-file", "-s", oid))

    def stream_blob(self, oid: str, chunk_size: int = 65_536) -> Iterator[bytes]:
        """The blob's bytes in chunks, never all of it in memory (as Gitaly streams blobs)."""
        proc = subprocess.Popen(
            ["git", "--git-dir", str(self.path), "cat-file", "blob", oid],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=base_env(self.home),
        )
        try:
            assert proc.stdout is not None
            while chunk := proc.stdout.read(chunk_size):
                yield chunk
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    def blob_sha256(self, oid: str) -> str:
        digest = hashlib.sha256()
        for chunk in self.stream_blob(oid):
            digest.update(chunk)
        return digest.hexdigest()

    def hash_blob(self, data: bytes) -> str:
        return self.out("hash-object", "-w", "--stdin", input=data)

    def last_commit_for_path(self, commit: str, path: str) -> str:
        found = self.log(commit, path=path, limit=1)
        return found[0] if found else commit

    # -- writing --------------------------------------------------------------------------
    def write_tree(self, files: dict[str, tuple[str, str]]) -> str:
        with tempfile.TemporaryDirectory(dir=self.home) as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.git("read-tree", "--empty", env=env)
            info = "".join(f"{mode} {oid}\t{path}\x00" for path, (mode, oid) in files.items())
            self.git("update-index", "-z", "--index-info", input=info.encode(), env=env)
            return self.out("write-tree", env=env)

    def commit_tree(
        self,
        tree: str,
        parents: list[str],
        message: str,
        author: Identity,
        committer: Identity | None = None,
        when: str | None = None,
    ) -> str:
        committer = committer or author
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
        }
        if when:
            env["GIT_AUTHOR_DATE"] = when
            env["GIT_COMMITTER_DATE"] = when
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.out(*args, input=message.encode(), env=env)

    def merge_tree(self, ours: str, theirs: str) -> str | None:
        """The merged tree, or None on conflicts."""
        proc = self.git("merge-tree", "--write-tree", "--no-messages", ours, theirs, check=False)
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().split("\n", 1)[0].strip()

    # -- diffs ----------------------------------------------------------------------------
    def diff(self, base: str, head: str) -> list[FileDiff]:
        raw = self.git("diff", "--raw", "-z", "-M", "--no-abbrev", base, head).stdout.decode()
        metas = _parse_raw(raw)
        patch = self.git(
            "diff", "--no-color", "--no-ext-diff", "-M", "--full-index", "-p", base, head
        ).stdout.decode(errors="replace")
        blocks = ["diff --git " + b for b in patch.split("\ndiff --git ")]
        if blocks:
            blocks[0] = blocks[0][len("diff --git ") :]
        result = []
        for meta, block in zip(metas, [b for b in blocks if b.strip()], strict=False):
            body = ""
            lines = block.split("\n")
            for i, line in enumerate(lines):
                if line.startswith("@@"):
                    body = "\n".join(lines[i:])
                    break
            if body and not body.endswith("\n"):
                body += "\n"
            a_mode, b_mode, status, old_path, new_path = meta
            result.append(
                FileDiff(
                    old_path=old_path,
                    new_path=new_path,
                    a_mode=a_mode,
                    b_mode=b_mode,
                    diff=body,
                    new_file=status == "A",
                    renamed_file=status == "R",
                    deleted_file=status == "D",
                )
            )
        return result


def _parse_raw(raw: str) -> list[tuple[str, str, str, str, str]]:
    parts = raw.split("\x00")
    metas = []
    i = 0
    while i < len(parts) and parts[i]:
        fields = parts[i].lstrip(":").split()
        a_mode, b_mode, status = fields[0], fields[1], fields[4][0]
        old = parts[i + 1]
        if status in ("R", "C"):
            new = parts[i + 2]
            i += 3
        else:
            new = old
            i += 2
        metas.append((str(int(a_mode)), str(int(b_mode)), status, old, new))
    return metas
