"""The activities of SPEC section 1 and their default action class (no heavy imports)."""

from __future__ import annotations

# Activities of SPEC section 1 and their default action class.
DEFAULT_ACTION_CLASSES: dict[str, str] = {
    "page_view": "view",
    "file_view": "view",
    "message_read": "view",
    "like": "react",
    "reaction": "react",
    "comment": "react",
    "reply": "react",
    "post": "contribute",
    "thread_start": "contribute",
    "page_create": "contribute",
    "upload": "contribute",
    "edit": "ignore",
    "share": "ignore",
    "delete": "ignore",
    "other": "ignore",
    # The generic format accepts the class names themselves as activities.
    "view": "view",
    "react": "react",
    "contribute": "contribute",
}
ACTIVITIES: tuple[str, ...] = tuple(DEFAULT_ACTION_CLASSES)
ACTION_CLASSES: tuple[str, ...] = ("view", "react", "contribute", "ignore")
