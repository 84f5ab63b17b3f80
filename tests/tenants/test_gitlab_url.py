"""T16: the GitLab base URL is checked before any token is sent."""

import socket

import pytest

from tenants import gitlab as tg


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://gitlab.example.com", "must start with https://"),
        ("gitlab.example.com", "must start with https://"),
        ("https://", "no host name"),
        ("https://user:pw@gitlab.example.com", "must not contain credentials"),
        ("https://tok@gitlab.example.com", "must not contain credentials"),
        ("https://gitlab.example.com/?x=1", "must not have a query"),
        ("https://gitlab.example.com/#frag", "must not have a query or fragment"),
        ("https://gitlab.example.com:99999", "not a valid URL"),
    ],
)
def test_malformed_urls_are_refused_with_the_fix(url, fragment):
    with pytest.raises(tg.GitLabURLError, match=fragment):
        tg.check_gitlab_url(url)


def test_normalizes_trailing_slash():
    assert tg.check_gitlab_url(" https://gitlab.example.com/ ") == "https://gitlab.example.com"
    assert tg.check_gitlab_url("http://git.corp:8080/gitlab/") == "http://git.corp:8080/gitlab"


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "10.1.2.3", "192.168.0.10", "172.16.5.5", "[::1]", "[fd00::1]"],
)
def test_private_and_loopback_refused_by_default(settings, host):
    settings.MATE_ALLOW_PRIVATE_GITLAB = False
    with pytest.raises(tg.GitLabURLError, match="MATE_ALLOW_PRIVATE_GITLAB=1"):
        tg.ensure_allowed_host(f"http://{host}/")


@pytest.mark.parametrize(
    "host", ["169.254.169.254", "[fe80::1]", "0.0.0.0", "[::ffff:169.254.169.254]", "224.0.0.1"]
)
def test_metadata_link_local_and_unspecified_refused_even_when_private_allowed(settings, host):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    with pytest.raises(tg.GitLabURLError, match="link-local, multicast or unspecified"):
        tg.ensure_allowed_host(f"http://{host}/")


def test_loopback_allowed_with_the_on_prem_switch(settings):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    tg.ensure_allowed_host("http://127.0.0.1:8929")


def test_refused_host_never_gets_a_socket(settings, monkeypatch):
    """The address check happens before python-gitlab is even built, so no connection opens."""
    settings.MATE_ALLOW_PRIVATE_GITLAB = False
    opened = []
    real_connect = socket.socket.connect

    def recording_connect(self, address):
        opened.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    with pytest.raises(tg.GitLabURLError):
        tg.client("http://127.0.0.1:9/", "glpat-never-sent-000000")
    assert opened == []


def test_client_refuses_redirects_and_ignores_proxy_environment(settings):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    gl = tg.client("http://127.0.0.1:9", "glpat-xxxxxxxxxxxxxxxxxxxx")
    assert gl.session.max_redirects == 0
    assert gl.session.trust_env is False
