"""Helpers for the GitOps tests: where the examples are, how to read them, and a node
harness standing in for `actions/github-script` and GitHub's REST API."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB_ACTIONS = ROOT / "examples" / "github-actions"
GITLAB_CI = ROOT / "examples" / "gitlab-ci" / ".gitlab-ci.yml"

# What actions/github-script@v7 hands a script, reduced to the calls the examples make.
# Every call is recorded; list calls answer from the state the test gives.
HARNESS = r"""
const fs = require('fs');
const [scriptFile, stateFile] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
const calls = [];
const record = name => async params => { calls.push({ name, params }); return { data: {} }; };
const list = (name, key) => async params => {
  calls.push({ name, params });
  return { data: state[key] || [] };
};
const github = {
  paginate: async (method, params) => (await method(params)).data,
  rest: { issues: {
    listComments: list('listComments', 'comments'),
    createComment: record('createComment'),
    updateComment: record('updateComment'),
    listForRepo: list('listForRepo', 'issues'),
    create: record('create'),
    update: record('update'),
  } },
};
const context = {
  repo: { owner: 'acme-3pl', repo: 'stores' },
  issue: { number: 42 },
  runId: 1234,
  serverUrl: 'https://github.com',
};
const core = { setFailed: m => calls.push({ name: 'setFailed', params: m }),
               info: () => {}, warning: () => {} };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const script = new AsyncFunction('require', 'github', 'context', 'core',
                                 fs.readFileSync(scriptFile, 'utf8'));
script(require, github, context, core).then(
  () => process.stdout.write(JSON.stringify(calls)),
  err => { console.error(err && err.stack || err); process.exit(1); });
"""

Call = dict[str, Any]
RunScript = Callable[..., list[Call]]


def load_yaml(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a mapping"
    return data


def triggers(workflow: Mapping[Any, Any]) -> Mapping[str, Any]:
    # YAML 1.1 reads a bare `on:` key as the boolean True.
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict)
    return on


def all_steps(workflow: Mapping[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def is_this_action(step: Mapping[str, Any]) -> bool:
    # The examples name the repository OWNER/dropstream-sync: the reader puts in their own.
    return str(step.get("uses", "")).startswith("OWNER/dropstream-sync@")


def github_script_of(workflow: Mapping[Any, Any]) -> str:
    scripts = [
        s["with"]["script"]
        for s in all_steps(workflow)
        if str(s.get("uses", "")).startswith("actions/github-script@")
    ]
    assert len(scripts) == 1
    return str(scripts[0])
