"""A small world in the simulator, shared by the simulator's own tests."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gitlab
import pytest

from tests.gitlab_sim import DEVELOPER, GUEST, MAINTAINER, REPORTER, GitLabSim

FILES = {
    "README.md": "# Widgets\n",
    "src/app.py": "def main():\n    return 1\n",
    "src/util/helpers.py": "X = 1\n",
    "docs/guide.md": "Guide\n",
}


@dataclass
class World:
    sim: GitLabSim
    project: object
    users: dict
    tokens: dict

    def gl(self, who: str = "maintainer", **kwargs) -> gitlab.Gitlab:
        return gitlab.Gitlab(self.sim.url, private_token=self.tokens[who], **kwargs)

    def api(self, who: str = "maintainer") -> gitlab.v4.objects.Project:
        return self.gl(who).projects.get(self.project.id)


@pytest.fixture
def world(gitlab_sim: GitLabSim) -> World:
    sim = gitlab_sim
    users = {
        "maintainer": sim.add_user("maria", "Maria Maintainer"),
        "developer": sim.add_user("dev", "Dev Eloper"),
        "reporter": sim.add_user("rita", "Rita Reporter"),
        "guest": sim.add_user("gus", "Gus Guest"),
        "outsider": sim.add_user("olga", "Olga Outsider"),
        "bot": sim.add_user("mate-bot", "Mate Bot"),
    }
    project = sim.add_project(
        "acme/widgets",
        files=FILES,
        members={
            users["maintainer"]: MAINTAINER,
            users["developer"]: DEVELOPER,
            users["reporter"]: REPORTER,
            users["guest"]: GUEST,
            users["bot"]: MAINTAINER,
        },
        protected_branches=["main"],
    )
    tokens = {
        name: sim.add_pat(user, ["api"], name=f"{name}-token") for name, user in users.items()
    }
    return World(sim, project, users, tokens)


@dataclass
class Receiver:
    """A tiny webhook receiver on 127.0.0.1 that records what it is sent."""

    url: str = ""
    requests: list = field(default_factory=list)
    status: int = 200
    event: threading.Event = field(default_factory=threading.Event)

    def json(self, index: int = -1) -> dict:
        return json.loads(self.requests[index]["body"])


@pytest.fixture
def receiver():
    box = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            box.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(box.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            box.event.set()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    box.url = f"http://127.0.0.1:{server.server_address[1]}/hook/tenant-1"
    yield box
    server.shutdown()
    server.server_close()
