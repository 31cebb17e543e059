"""A Slack workspace export at a real organisation's size through the whole ingest: 20,000
people, a year of day files (a few messages each, as real exports have), over a million
records (messages and reactions) classified by the field table into the store."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from intranet_metrics import api
from intranet_metrics.store import Store

PEOPLE = 20_000
START = 1_735_689_600  # 2025-01-01 UTC


def write_export(folder: Path, channels: int, days: int, per_day: int) -> dict[str, int]:
    """The export, and what it holds: messages, reactions and their classes."""
    rng = random.Random(11)
    folder.mkdir()
    users = [
        {"id": f"U{p:05d}", "is_bot": p < 20, "profile": {"email": f"p{p}@contoso.example"}}
        for p in range(PEOPLE)
    ]
    (folder / "users.json").write_text(json.dumps(users))
    (folder / "channels.json").write_text(json.dumps([{"name": f"c{c}"} for c in range(channels)]))
    held = dict.fromkeys(("post", "reply", "other", "reaction", "bot"), 0)
    for c in range(channels):
        (folder / f"c{c}").mkdir()
        for d in range(days):
            messages, base = [], START + d * 86_400
            for j in range(per_day):
                uid = rng.randrange(PEOPLE)
                msg = {"type": "message", "user": f"U{uid:05d}", "ts": f"{base + j}.{c:06d}"}
                if j and rng.random() < 0.3:
                    msg["thread_ts"] = messages[0]["ts"]
                if rng.random() < 0.02:
                    msg["subtype"] = "channel_join"
                    held["other"] += 1
                elif uid < 20:
                    held["bot"] += 1
                else:
                    held["reply" if "thread_ts" in msg else "post"] += 1
                picked = rng.sample(range(20, PEOPLE), rng.randint(0, 2))  # Slack lists each once
                reactors = [f"U{p:05d}" for p in picked]
                if reactors:
                    msg["reactions"] = [{"name": "+1", "users": reactors, "count": len(reactors)}]
                    held["reaction"] += len(reactors)
                messages.append(msg)
            day = f"2025-{1 + d // 28:02d}-{1 + d % 28:02d}"
            (folder / f"c{c}" / f"{day}.json").write_text(json.dumps(messages))
    return held


@pytest.mark.slow
def test_a_slack_export_of_twenty_thousand_people(tmp_path: Path) -> None:
    # 60 channels x 336 days x 36 messages: 725,760 messages, ~725,000 reactions.
    held = write_export(tmp_path / "slack", channels=60, days=336, per_day=36)
    store = Store.open(tmp_path / "store", create=True)
    (source,) = api.ingest(store, [tmp_path / "slack"]).sources
    records = sum(held.values())
    assert records > 1_000_000
    assert source.status == "ingested" and source.new_events == records
    assert source.duplicates == 0
    assert (source.rows, source.rejected, source.other) == (records, 0, held["other"])
    assert source.excluded_by_reason == {"bot": held["bot"]}
    react, contribute = held["reaction"] + held["reply"], held["post"]  # a reply reacts
    assert source.events_by_class == {"react": react, "contribute": contribute}
