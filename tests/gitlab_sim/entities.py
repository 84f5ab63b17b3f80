"""REST v4 JSON shapes (lib/api/entities/*), rendered from the in-memory objects."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

from .models import ACCESS_NAMES, Note, Project, Token, User

if TYPE_CHECKING:
    from .sim import GitLabSim


def ts(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def avatar(user: User) -> str:
    digest = hashlib.sha256(user.username.encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?s=80&d=identicon"


def user_basic(sim: GitLabSim, user: User | None) -> dict | None:
    if user is None:
        return None
    return {
        "id": user.id,
        "username": user.username,
        "public_email": user.public_email or None,
        "name": user.name,
        "state": user.state,
        "locked": False,
        "avatar_url": avatar(user),
        "web_url": f"{sim.url}/{user.username}",
    }


def user_full(sim: GitLabSim, user: User) -> dict:
    data = user_basic(sim, user)
    data.update(
        {
            "created_at": ts(user.created_at),
            "bio": "",
            "location": "",
            "linkedin": "",
            "twitter": "",
            "discord": "",
            "website_url": "",
            "organization": "",
            "job_title": "",
            "pronouns": None,
            "bot": user.bot,
            "work_information": None,
            "local_time": None,
            "last_sign_in_at": None,
            "confirmed_at": ts(user.created_at),
            "last_activity_on": day(sim.state.today()),
            "email": user.email,
            "theme_id": 3,
            "color_scheme_id": 1,
            "projects_limit": 100000,
            "current_sign_in_at": None,
            "identities": [],
            "can_create_group": not user.bot,
            "can_create_project": not user.bot,
            "two_factor_enabled": False,
            "external": False,
            "private_profile": False,
            "commit_email": user.email,
        }
    )
    if user.is_admin:
        data["is_admin"] = True
    return data


def token_entity(token: Token, today: dt.date, with_secret: bool = False) -> dict:
    data = {
        "id": token.id,
        "name": token.name,
        "revoked": token.revoked,
        "created_at": ts(token.created_at),
        "description": token.description or None,
        "scopes": list(token.scopes),
        "user_id": token.user_id,
        "last_used_at": ts(token.last_used_at),
        "active": token.active(today),
        "expires_at": day(token.expires_at),
    }
    if token.project_id is not None:
        data["access_level"] = token.access_level
        data["resource_type"] = "project"
        data["resource_id"] = token.project_id
    if with_secret:
        data["token"] = token.token
    return data


def namespace_entity(sim: GitLabSim, project: Project) -> dict:
    path = project.namespace_path
    is_user = sim.state.user(path) is not None
    return {
        "id": project.namespace_id,
        "name": path.rsplit("/", 1)[-1],
        "path": path.rsplit("/", 1)[-1],
        "kind": "user" if is_user else "group",
        "full_path": path,
        "parent_id": None,
        "avatar_url": None,
        "web_url": f"{sim.url}/{'' if is_user else 'groups/'}{path}",
    }


def project_entity(sim: GitLabSim, project: Project, viewer: User | None) -> dict:
    web = f"{sim.url}/{project.path_with_namespace}"
    repo = sim.repo(project)
    level = sim.state.access_level(viewer, project)
    data = {
        "id": project.id,
        "description": project.description,
        "name": project.name,
        "name_with_namespace": project.path_with_namespace.replace("/", " / "),
        "path": project.path,
        "path_with_namespace": project.path_with_namespace,
        "created_at": ts(project.created_at),
        "default_branch": project.default_branch if repo.branches() else None,
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": f"git@{sim.host}:{project.path_with_namespace}.git",
        "http_url_to_repo": f"{web}.git",
        "web_url": web,
        "readme_url": None,
        "forks_count": sum(
            1 for p in sim.state.projects.values() if p.forked_from_id == project.id
        ),
        "avatar_url": None,
        "star_count": 0,
        "last_activity_at": ts(sim.state.now()),
        "namespace": namespace_entity(sim, project),
        "visibility": project.visibility,
        "empty_repo": not repo.branches(),
        "archived": project.archived,
        "issues_enabled": True,
        "merge_requests_enabled": True,
        "jobs_enabled": True,
        "merge_method": "merge",
        "squash_option": "default_off",
        "only_allow_merge_if_pipeline_succeeds": project.only_allow_merge_if_pipeline_succeeds,
        "only_allow_merge_if_all_discussions_are_resolved": False,
        "remove_source_branch_after_merge": True,
        "permissions": {
            "project_access": {"access_level": level, "notification_level": 3} if level else None,
            "group_access": None,
        },
        "_links": {
            "self": f"{sim.url}/api/v4/projects/{project.id}",
            "issues": f"{sim.url}/api/v4/projects/{project.id}/issues",
            "merge_requests": f"{sim.url}/api/v4/projects/{project.id}/merge_requests",
            "repo_branches": f"{sim.url}/api/v4/projects/{project.id}/repository/branches",
            "members": f"{sim.url}/api/v4/projects/{project.id}/members",
        },
    }
    if sim.state.can_read_code(viewer, project):  # expose :ci_config_path, if: download_code
        data["ci_config_path"] = project.ci_config_path
    if project.forked_from_id:
        parent = sim.state.projects[project.forked_from_id]
        data["forked_from_project"] = {
            "id": parent.id,
            "name": parent.name,
            "path_with_namespace": parent.path_with_namespace,
            "web_url": f"{sim.url}/{parent.path_with_namespace}",
        }
    return data


def commit_entity(sim: GitLabSim, project: Project, info: dict) -> dict:
    return {
        "id": info["id"],
        "short_id": info["id"][:8],
        "created_at": info["committed_date"],
        "parent_ids": info["parent_ids"],
        "title": info["title"],
        "message": info["message"],
        "author_name": info["author_name"],
        "author_email": info["author_email"],
        "authored_date": info["authored_date"],
        "committer_name": info["committer_name"],
        "committer_email": info["committer_email"],
        "committed_date": info["committed_date"],
        "trailers": {},
        "extended_trailers": {},
        "web_url": f"{sim.url}/{project.path_with_namespace}/-/commit/{info['id']}",
    }


def member_entity(sim: GitLabSim, user: User, level: int) -> dict:
    """API::Entities::Member: the user's basic fields plus the membership's."""
    data = user_basic(sim, user)
    data.update(
        {
            "access_level": level,
            "created_at": ts(user.created_at),
            "created_by": None,
            "expires_at": None,
            "membership_state": "active",
        }
    )
    return data


def note_entity(sim: GitLabSim, note: Note) -> dict:
    return {
        "id": note.id,
        "type": None,
        "body": note.body,
        "attachment": None,
        "author": user_basic(sim, sim.state.users[note.author_id]),
        "created_at": ts(note.created_at),
        "updated_at": ts(note.updated_at),
        "system": note.system,
        "noteable_id": note.noteable_id,
        "noteable_type": note.noteable_type,
        "project_id": note.project_id,
        "resolvable": False,
        "confidential": note.internal,
        "internal": note.internal,
        "imported": False,
        "imported_from": "none",
        "noteable_iid": note.noteable_iid,
        "commands_changes": {},
    }


def access_name(level: int) -> str:
    return ACCESS_NAMES.get(level, str(level))
