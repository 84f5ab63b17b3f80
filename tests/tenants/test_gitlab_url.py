"""T16, T36: the GitLab base URL is checked before any token is sent."""

import socket

import pytest
import requests

from tenants import gitlab as tg
from tenants.netguard import RefusedDestination


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
    "host",
    [
        "169.254.169.254",
        "[fe80::1]",
        "0.0.0.0",
        "[::ffff:169.254.169.254]",
        "224.0.0.1",
        "100.100.100.200",  # Alibaba Cloud metadata
        "[fd00:ec2::254]",  # AWS metadata over IPv6
        "168.63.129.16",  # Azure wire server (a global address)
        "[2002:a9fe:a9fe::]",  # 6to4 for 169.254.169.254
    ],
)
def test_metadata_link_local_and_unspecified_refused_even_when_private_allowed(settings, host):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    with pytest.raises(tg.GitLabURLError, match="link-local, multicast, unspecified or cloud"):
        tg.ensure_allowed_host(f"http://{host}/")


@pytest.mark.parametrize(
    "host",
    [
        "100.64.0.1",
        "100.127.255.254",
        "[fec0::1]",
        "[2002:7f00:1::]",
        "198.18.0.1",
        "[64:ff9b:1::1]",
    ],
)
def test_non_global_ranges_python_may_miss_are_refused_by_default(settings, host):
    """T36: Python 3.11 calls fec0::/10 global and 100.64.0.0/10 is neither private nor
    reserved; both, and 6to4 wrapping loopback, need MATE_ALLOW_PRIVATE_GITLAB=1."""
    settings.MATE_ALLOW_PRIVATE_GITLAB = False
    with pytest.raises(tg.GitLabURLError, match="MATE_ALLOW_PRIVATE_GITLAB=1"):
        tg.ensure_allowed_host(f"https://{host}/")


def test_a_name_is_refused_if_any_of_its_addresses_is(settings, fake_dns):
    settings.MATE_ALLOW_PRIVATE_GITLAB = False
    fake_dns.set("mixed.example", ["93.184.215.14", "10.0.0.5"])
    with pytest.raises(tg.GitLabURLError, match="resolves to 10.0.0.5"):
        tg.ensure_allowed_host("https://mixed.example")


def test_a_name_that_does_not_resolve_is_refused_with_the_fix(fake_dns):
    fake_dns.default = None
    with pytest.raises(tg.GitLabURLError, match="does not resolve; check the GitLab URL"):
        tg.ensure_allowed_host("https://nowhere.example")


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
        tg._client("http://127.0.0.1:9/", "glpat-never-sent-000000")
    assert opened == []


def test_client_refuses_redirects_and_ignores_proxy_environment(settings):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    gl = tg._client("http://127.0.0.1:9", "glpat-xxxxxxxxxxxxxxxxxxxx")
    assert gl.session.max_redirects == 0
    assert gl.session.trust_env is False


def test_client_session_reaches_its_own_origin_only(settings, monkeypatch):
    """A foreign origin (a redirect target, a pagination link) is refused before any socket."""
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    opened = []
    monkeypatch.setattr(socket.socket, "connect", lambda sock, address: opened.append(address))
    gl = tg._client("http://127.0.0.1:9", "glpat-xxxxxxxxxxxxxxxxxxxx")
    for elsewhere in [
        "http://127.0.0.2:9/api/v4/user",
        "http://127.0.0.1:10/api/v4/user",
        "https://127.0.0.1:9/api/v4/user",
        "http://127.0.0.1:90/api/v4/user",  # the bound origin is a prefix of it
    ]:
        with pytest.raises(RefusedDestination, match="only to http://127.0.0.1:9"):
            gl.session.get(elsewhere, headers={"PRIVATE-TOKEN": "glpat-xxxxxxxxxxxxxxxxxxxx"})
    assert opened == []


def test_the_address_is_checked_again_on_the_socket_it_connects(settings, monkeypatch):
    """T36: the pinned connection re-applies the rule to the very address it opens: a client
    built while 100.64.0.1 was allowed opens no socket once the rule refuses it."""
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    gl = tg._client("http://100.64.0.1:9", "glpat-xxxxxxxxxxxxxxxxxxxx")
    settings.MATE_ALLOW_PRIVATE_GITLAB = False
    opened = []
    monkeypatch.setattr(socket.socket, "connect", lambda sock, address: opened.append(address))
    with pytest.raises(requests.exceptions.ConnectionError, match="refused 100.64.0.1"):
        gl.session.get("http://100.64.0.1:9/api/v4/user")
    assert opened == []
