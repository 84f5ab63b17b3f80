"""Deliveries sent by GitLab's "Test" button (SPEC §5.2): recognised, never routed.

GitLab's Test (TestHooks::ProjectService with Integrations::ProjectTestData) sends data built
from the newest real MR, issue, note or pipeline of the project, with the headers of any
delivery. What gives it away is in the data, because GitLab builds it differently from a real
event:

- **Issue and MR tests** are ``to_hook_data(current_user, action: 'open')`` on a record a
  finder just loaded: nothing was saved, so ``changes`` is ``{}``. A real ``open`` always
  carries what was saved (an issue: the attributes of its creation; an MR: AfterCreateService
  saves ``prepared_at`` right before it runs the hooks).
- **Note tests** are ``Gitlab::DataBuilder::Note.build(note, current_user, :create)``: ``user``
  is whoever pressed the button. A real note hook is built with ``note.author``
  (Notes::PostProcessService, Notes::UpdateService), so ``user.id`` is ``author_id``.
- **The header comes from the trigger**, not the object: "Test → Issue events" on a
  confidential issue sends ``Issue Hook`` with ``event_type: confidential_issue``. A real
  delivery's hook scope and ``event_type`` follow the same confidentiality (issues and notes).

Not recognisable: a pipeline test (``Gitlab::DataBuilder::Pipeline.build(pipeline)``, the very
data of the real hook) and a note test pressed by the note's own author. Both repeat an event
that did happen; within the event-identity window (SPEC §5.1) they are duplicates.
"""

from __future__ import annotations

from .model import ISSUE_HOOKS, MERGE_REQUEST_HOOK, NOTE_HOOKS
from .payload import JsonObject, as_object, int_at, obj_at, str_at

GITLAB_TEST_DELIVERY = "GitLab test delivery"

_CONFIDENTIAL_HOOKS = frozenset({"Confidential Issue Hook", "Confidential Note Hook"})


def is_gitlab_test(hook_type: str, root: JsonObject) -> bool:
    """Whether this delivery (``X-Gitlab-Event`` and parsed body) is one GitLab's Test built.

    Pure; reads only fields GitLab always sends and answers False when they are missing."""
    if hook_type in ISSUE_HOOKS or hook_type in NOTE_HOOKS:
        if _confidentiality_disagrees(hook_type, root):
            return True
    attrs = obj_at(root, "object_attributes")
    if attrs is None:
        return False
    if hook_type in ISSUE_HOOKS or hook_type == MERGE_REQUEST_HOOK:
        return str_at(attrs, "action") == "open" and as_object(root.get("changes")) == {}
    if hook_type in NOTE_HOOKS:
        user_id = int_at(obj_at(root, "user"), "id")
        author_id = int_at(attrs, "author_id")
        return user_id is not None and author_id is not None and user_id != author_id
    return False


def _confidentiality_disagrees(hook_type: str, root: JsonObject) -> bool:
    """The header says confidential and the payload does not, or the other way round."""
    event_type = str_at(root, "event_type")
    if event_type is None:
        return False
    return (hook_type in _CONFIDENTIAL_HOOKS) != event_type.startswith("confidential_")
